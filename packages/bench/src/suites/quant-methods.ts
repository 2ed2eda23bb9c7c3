/**
 * The quant suite's rows for the calibrated methods (GPTQ, AWQ, mixed precision) and the
 * GPTQ kernel-speed row; quant.ts runs them beside its RTN rows.
 *
 * Recovery: for GPTQ/AWQ at 4-bit with the same group as an RTN row on the same grid,
 * (ppl_rtn - ppl_method) / (ppl_rtn - ppl_fp32); target >= 0.5. Beside it the same ratio of the
 * KL against fp32 (which is 0 for fp32), 1 - KL_method / KL_rtn: the perplexity difference
 * of two close models carries the sampling noise of the test tokens, the KL far less.
 * Kernel speed: GPTQ on a 1024x1024 layer (Hessian from 2048 random correlated rows, 4-bit
 * g128), FLOPs counted as n²·m for the error propagation (each of n rows updates the rows
 * after it, m columns, a multiply-add each: n²/2 · m · 2) plus n³/3 for the Cholesky factor
 * and n³/3 for its triangular inverse; nothing else is counted (not the rounding, the grid
 * fits, nor the blocked inverse's dense products, which do about twice the triangular
 * work). Against ORT's MatMul GFLOP/s (2·n³) in the same process with the same one
 * thread, timed alternately; target >= 0.3 on wall time. Beside it the same ratio on the
 * process's CPU time (both run on the main thread), which a loaded machine disturbs less,
 * and the 1-minute load average. The layer is quantized on the min/max grid: the
 * technique's default grid search (`shrinks`) adds a JS pass over each group per candidate
 * and is left out of this row.
 */
import os from 'node:os';
import { median } from '@distillery/eval';
import { openMatMul } from '@distillery/nn';
import { gram } from '@distillery/onnx';
import { gptq } from '@distillery/techniques';
import type { BenchRow } from '../suite';
import type { Variant } from './quant';

/** MatMulNBits parameters of quantize.rtn / gptq / awq. */
export const nbits = (bits: number, groupSize: number, symmetric: boolean) => ({ bits, groupSize, symmetric, format: 'matmulnbits' });

export const METHOD_VARIANTS: Variant[] = [
  { quick: true, method: 'gptq 4-bit nbits', technique: 'quantize.gptq', params: nbits(4, 64, true), calibrated: true, bits: 4, group: 64, rtn: 'rtn 4-bit nbits' },
  // The layer objective: in the awq suite (32,768 test tokens) it recovered 0.30 against the block objective's 0.26 in half the time.
  { quick: true, method: 'awq 4-bit nbits', technique: 'quantize.awq', params: { ...nbits(4, 64, true), objective: 'layer' }, calibrated: true, bits: 4, group: 64, rtn: 'rtn 4-bit nbits' },
  // Calibration-free; its grid is asymmetric with real zero points, so it is compared with asymmetric RTN.
  { method: 'hqq 4-bit nbits', technique: 'quantize.hqq', params: { bits: 4, groupSize: 64 }, calibrated: false, bits: 4, group: 64, rtn: 'rtn 4-bit nbits asym' },
  { method: 'gptq 4-bit nbits asym', technique: 'quantize.gptq', params: nbits(4, 64, false), calibrated: true, bits: 4, group: 64, rtn: 'rtn 4-bit nbits asym' },
  { method: 'awq 4-bit nbits asym', technique: 'quantize.awq', params: nbits(4, 64, false), calibrated: true, bits: 4, group: 64, rtn: 'rtn 4-bit nbits asym' },
  { method: 'gptq 3-bit (int4 DQ)', technique: 'quantize.gptq', params: { bits: 3, groupSize: 64 }, calibrated: true, bits: 3, group: 64, rtn: 'rtn 3-bit (int4 DQ)' },
  // 3.5 stored bits per weight is uniform 3-bit g64 with float32 scales (as packed bits).
  { method: 'mixed {2,4,8} nbits @3.5 bpw', technique: 'quantize.mixed', params: { targetBitsPerWeight: 3.5, choices: [2, 4, 8], groupSize: 64, format: 'matmulnbits', sensitivitySequences: 8 }, calibrated: true, bits: 3, group: 64, rtn: 'rtn 3-bit (int4 DQ)' },
  { method: 'mixed {2,3,4,8} @3.5 bpw', technique: 'quantize.mixed', params: { targetBitsPerWeight: 3.5, choices: [2, 3, 4, 8], groupSize: 64, sensitivitySequences: 8 }, calibrated: true, bits: 3, group: 64, rtn: 'rtn 3-bit (int4 DQ)' },
  // Both stored at their true width: an average of 3 code bits with float32 g64 scales is 3.5 stored bits per weight, as uniform 3-bit is.
  // Sensitivity on 4 calibration sequences: its cost is a forward pass per probe (116 probes), and 4 chose the same widths as 8.
  { quick: true, method: 'mixed', technique: 'quantize.mixed', params: { targetBitsPerWeight: 3.5, choices: [2, 3, 4, 8], groupSize: 64, format: 'bitpacked', sensitivitySequences: 4 }, calibrated: true, bits: 3, group: 64, rtn: 'rtn 3-bit bitpacked' },
];

/** Share of RTN's perplexity increase over fp32 a method recovers, (ppl_rtn - ppl) / (ppl_rtn - ppl_fp32), to 3 decimals. */
export function recoveryVsRtn(ppl: number, rtnPpl: number, fp32Ppl: number): number {
  return Math.round(((rtnPpl - ppl) / (rtnPpl - fp32Ppl)) * 1000) / 1000;
}

/**
 * A method row measured against the RTN row on its grid: recoveryVsRtn, klRecoveryVsRtn
 * (the share of RTN's KL against fp32 removed) and rtnPpl.
 */
export function compareWithRtn(row: BenchRow, rtn: BenchRow, fp32Ppl: number): void {
  row.recoveryVsRtn = recoveryVsRtn(row.ppl as number, rtn.ppl as number, fp32Ppl);
  row.klRecoveryVsRtn = Math.round((1 - (row.klVsBase as number) / (rtn.klVsBase as number)) * 1000) / 1000;
  row.rtnPpl = rtn.ppl;
}

/**
 * Each of `variants` naming an RTN row (`rtn`) compared with it (compareWithRtn, and the RTN
 * row's name as rtnMethod) among the rows of `model`, against that model's fp32 row; logged.
 */
export function compareVariantsWithRtn(rows: BenchRow[], variants: readonly Variant[], model: string, log: (m: string) => void): void {
  const find = (m: string) => rows.find((r) => r.model === model && r.method === m);
  const fp32 = find('fp32')?.ppl as number | undefined;
  if (fp32 === undefined) return;
  for (const v of variants) {
    const row = find(v.method);
    const rtn = v.rtn ? find(v.rtn) : undefined;
    if (!row || !rtn) continue;
    row.rtnMethod = rtn.method;
    compareWithRtn(row, rtn, fp32);
    log(`${model}: ${v.method} ppl ${row.ppl} vs ${rtn.method} ${rtn.ppl} (fp32 ${fp32}): recovery ${row.recoveryVsRtn} (target >= 0.5), KL recovery ${row.klRecoveryVsRtn}`);
  }
}

/** A logger that prefixes the seconds since it was made, so a slow run shows which rows took the time. */
export function elapsedLog(print: (m: string) => void): (m: string) => void {
  const t0 = performance.now();
  return (m) => print(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${m}`);
}

/** Adds recoveryVsRtn to the method rows and logs the targets. */
export function methodTargets(rows: BenchRow[], log: (m: string) => void): void {
  const ref = (method: string, group: unknown) => rows.find((r) => r.model === 'ref-base' && r.method === method && r.group === group);
  const fp32 = ref('fp32', null)?.ppl as number | undefined;
  for (const v of METHOD_VARIANTS) {
    const row = ref(v.method, v.group);
    const rtn = v.rtn ? ref(v.rtn, v.group) : undefined;
    if (!row || !rtn || fp32 === undefined) continue;
    compareWithRtn(row, rtn, fp32);
    row.rtnBitsPerWeight = rtn.bitsPerWeight;
    row.beatsRtn = (row.ppl as number) < (rtn.ppl as number);
    const target =
      v.technique === 'quantize.mixed' ? `beats uniform 3-bit RTN: ${(row.ppl as number) < (rtn.ppl as number)}` : v.technique === 'quantize.hqq' ? 'no target' : 'target >= 0.5';
    log(`${v.method}: ppl ${row.ppl} vs ${v.rtn} ${rtn.ppl} (fp32 ${fp32}): recovery ${row.recoveryVsRtn} (${target}), KL recovery ${row.klRecoveryVsRtn}`);
  }
}

/** Wall and CPU milliseconds of one call (the process's CPU time: ORT runs on the calling thread here). */
async function timed(f: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

export async function gptqKernelRow(quick: boolean, log: (m: string) => void): Promise<BenchRow> {
  const n = 1024;
  const m = 1024;
  const samples = 2048;
  // Correlated inputs (X = Z M), so the Hessian is not trivially diagonal.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const z = Float32Array.from({ length: samples * 64 }, rand);
  const mix = Float32Array.from({ length: 64 * n }, rand);
  const x = new Float32Array(samples * n);
  for (let r = 0; r < samples; r++) for (let k = 0; k < 64; k++) for (let c = 0; c < n; c++) x[r * n + c]! += z[r * 64 + k]! * mix[k * n + c]!;
  for (let i = 0; i < x.length; i++) x[i]! += 0.1 * rand();
  const h = Float64Array.from(await gram(x, samples, n), (v) => (2 * v) / samples);
  const w = Float32Array.from({ length: n * m }, () => 0.05 * rand());
  const spec = { bits: 4, symmetric: true, groupSize: 128 };
  const mm = await openMatMul(n, n, m, { intraOpNumThreads: 1 });
  const mmTimes: { wall: number; cpu: number }[] = [];
  const gptqTimes: { wall: number; cpu: number }[] = [];
  try {
    await mm.run();
    await gptq(w, n, m, h, { spec }); // warm-up: session creation
    const rounds = quick ? 5 : 9;
    for (let r = 0; r < rounds; r++) {
      mmTimes.push(await timed(() => mm.run()));
      gptqTimes.push(await timed(() => gptq(w, n, m, h, { spec })));
    }
  } finally {
    await mm.release();
  }
  const flops = n * n * m + (2 / 3) * n ** 3;
  const mmFlops = 2 * n * n * m;
  const gptqMs = median(gptqTimes.map((t) => t.wall));
  const gptqGflops = flops / gptqMs / 1e6;
  const matmulGflops = mmFlops / median(mmTimes.map((t) => t.wall)) / 1e6;
  const ratio = gptqGflops / matmulGflops;
  const cpuRatio = flops / median(gptqTimes.map((t) => t.cpu)) / (mmFlops / median(mmTimes.map((t) => t.cpu)));
  const load1 = os.loadavg()[0]!;
  log(`gptq 1024x1024: ${gptqMs.toFixed(0)} ms, ${gptqGflops.toFixed(1)} GFLOP/s vs ORT MatMul ${matmulGflops.toFixed(1)}: ratio ${ratio.toFixed(2)} (target >= 0.3); on CPU time ${cpuRatio.toFixed(2)}; load ${load1.toFixed(1)}`);
  return {
    model: 'kernel',
    method: 'gptq 1024x1024 4-bit g128',
    bits: 4,
    group: 128,
    gptqMs: Math.round(gptqMs * 10) / 10,
    gptqGflops: Math.round(gptqGflops * 10) / 10,
    matmulGflops: Math.round(matmulGflops * 10) / 10,
    ratio: Math.round(ratio * 100) / 100,
    cpuRatio: Math.round(cpuRatio * 100) / 100,
    load1: Math.round(load1 * 10) / 10,
  };
}
