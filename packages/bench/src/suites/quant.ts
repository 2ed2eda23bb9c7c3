/**
 * quant: the quantization methods on models/ref-base (bundled test split) and decode
 * speed on a larger builder model with random weights.
 *
 * Quality rows (model "ref-base"): perplexity (packages/eval, window 256, stride 128) on
 * the first 32,768 test-split tokens (16,384 with --quick: on 4,096 the sampling noise of
 * a perplexity difference, about 0.2 of RTN's 4-bit increase, decided the recovery figures), mean KL(fp32 || model) and
 * top-1 agreement from packages/eval's calibrationBase / klOnCalibration (disjoint
 * 256-token windows over the first 8,192 / 1,024, each scored whole), bytes
 * of the serialized model, bits per weight of the rewritten linear layers (scales and
 * zero points counted), decode tokens/s (batch 1, KV cache, 1 ORT thread).
 * Speed rows (model "large"): decoderPreset('bench-100m') (LM head tied to the embedding
 * table), random weights; fp32 and 4-bit MatMulNBits variants decoded side by side, rounds
 * interleaved so machine load hits all alike; every speed is also given as a ratio to fp32
 * from the same rounds. With `tiedHead` the head gets a 4-bit weight of its own.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { sampleSequences, splitBundledCorpora } from '@distillery/data';
import { calibrationBase, createSession, klOnCalibration, measureLatency, median, modelPerplexity } from '@distillery/eval';
import { buildDecoder, decoderPreset, decoderWeightsFromModel, initDecoderWeights } from '@distillery/nn';
import { serializeModel, type Model } from '@distillery/onnx';
import { MODEL_FILE, readModelFolder, referenceModelDir } from '@distillery/reference';
import { quietContext, registry, type CalibrationSet, type TechniqueReport } from '@distillery/techniques';
import * as ort from 'onnxruntime-node';
import { profileDecode, type DecodeProfile } from '../decode-profile';
import type { BenchRow, BenchSuite } from '../suite';
import { disjointWindows } from './compression-rows';
import { elapsedLog, gptqKernelRow, METHOD_VARIANTS, methodTargets } from './quant-methods';
import { llamaCppRows } from './quant-llamacpp';

export interface Variant {
  method: string;
  /**
   * In the --quick subset: the rows the targets are read from (fp32, int8, 4-bit g64 RTN /
   * GPTQ / AWQ, uniform 3-bit and mixed precision); a perplexity evaluation per row is most
   * of the suite's time, so the other methods are in the full run only.
   */
  quick?: boolean;
  technique?: string;
  params?: Record<string, unknown>;
  calibrated?: boolean;
  /** A second step applied to the first one's output (fine-tuning on the train split). */
  then?: { technique: string; params: Record<string, unknown> };
  /** The RTN row on the same grid this method's recovery is measured against. */
  rtn?: string;
  /** The row this one is compared with (ppl before the second step). */
  baseline?: string;
  bits: number;
  group: number | string | null;
}

const REF_VARIANTS: Variant[] = [
  { quick: true, method: 'fp32', bits: 32, group: null },
  { method: 'fp16 (as stored)', bits: 16, group: null },
  { method: 'bf16', technique: 'quantize.bf16', params: { embeddings: 'keep' }, bits: 16, group: null },
  { method: 'dynamic int8 (W8A8)', technique: 'quantize.dynamic-int8', bits: 8, group: 'channel' },
  { quick: true, method: 'rtn int8', technique: 'quantize.rtn-int8', bits: 8, group: 'channel' },
  { method: 'rtn 4-bit', technique: 'quantize.rtn', params: { bits: 4 }, bits: 4, group: 'channel' },
  { method: 'rtn 4-bit nbits', technique: 'quantize.rtn', params: { bits: 4, groupSize: 128, format: 'matmulnbits' }, bits: 4, group: 128 },
  { quick: true, method: 'rtn 4-bit nbits', technique: 'quantize.rtn', params: { bits: 4, groupSize: 64, format: 'matmulnbits' }, bits: 4, group: 64 },
  { method: 'rtn 4-bit nbits', technique: 'quantize.rtn', params: { bits: 4, groupSize: 32, format: 'matmulnbits' }, bits: 4, group: 32 },
  { method: 'rtn 4-bit nbits asym', technique: 'quantize.rtn', params: { bits: 4, groupSize: 64, symmetric: false, format: 'matmulnbits' }, bits: 4, group: 64 },
  { method: 'rtn 4-bit nbits clip-search', technique: 'quantize.rtn', params: { bits: 4, groupSize: 64, format: 'matmulnbits', clipSearch: true }, calibrated: true, bits: 4, group: 64 },
  { method: 'rtn 3-bit (int4 DQ)', technique: 'quantize.rtn', params: { bits: 3, groupSize: 64 }, bits: 3, group: 64 },
  {
    method: 'rtn 4-bit nbits + lora',
    technique: 'quantize.rtn',
    params: { bits: 4, groupSize: 64, format: 'matmulnbits' },
    then: { technique: 'finetune.lora', params: { steps: 100, rank: 8, alpha: 16, lr: 1e-3, batchSize: 8, seqLen: 128 } },
    baseline: 'rtn 4-bit nbits',
    bits: 4,
    group: 64,
  },
  { quick: true, method: 'rtn 3-bit bitpacked', technique: 'quantize.rtn', params: { bits: 3, groupSize: 64, format: 'bitpacked' }, bits: 3, group: 64 },
  { method: 'rtn 3-bit clip-search', technique: 'quantize.rtn', params: { bits: 3, groupSize: 64, clipSearch: true }, calibrated: true, bits: 3, group: 64 },
  { method: 'rtn 2-bit nbits asym', technique: 'quantize.rtn', params: { bits: 2, groupSize: 32, symmetric: false, format: 'matmulnbits' }, bits: 2, group: 32 },
  ...METHOD_VARIANTS,
];

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

async function apply(id: string, model: Model, params: Record<string, unknown>, calibration?: CalibrationSet, trainingTokens?: Int32Array): Promise<{ model: Model; report: TechniqueReport }> {
  const t = registry.get(id);
  return t.apply(model, t.params.parse(params), quietContext({ calibration, trainingTokens }));
}

async function decodeSpeed(model: Model, tokens: number): Promise<number> {
  const s = await createSession(model);
  try {
    return (await measureLatency(s, { promptLength: 1, decodeTokens: tokens, warmup: 1, repeats: 2 })).decodeTokensPerSecond;
  } finally {
    await s.release();
  }
}

/** A model made from ref-base that the rows are measured on instead (e.g. with outlier channels), and its rows' `model` label. */
export interface RefSource {
  label: string;
  make: (refBase: Model) => Model;
}

/** The ref-base rows of `variants` (all of them; --quick only shortens the test text and decode). */
export async function refRows(variants: readonly Variant[], quick: boolean, log: (m: string) => void, source?: RefSource): Promise<BenchRow[]> {
  const dir = referenceModelDir();
  if (!existsSync(path.join(dir, MODEL_FILE))) {
    log(`no reference model at ${dir} (npm run train:reference): skipping the ref-base rows`);
    return [];
  }
  const folder = await readModelFolder(dir);
  const split = splitBundledCorpora();
  const allTest = folder.tokenizer.encodeDocuments(split.test.map((d) => d.text));
  // The first 32k tokens in a full run: ~15 perplexity runs of the whole split would take over an hour on 2 shared cores.
  const test = allTest.subarray(0, quick ? 16_384 : 32_768);
  const divergenceWindows = disjointWindows(test.subarray(0, quick ? 1024 : 8192), 256);
  const train = folder.tokenizer.encodeDocuments(split.train.map((d) => d.text));
  // 64 sequences in both modes: 16 left GPTQ's Hessians noisier (KL vs fp32 0.0099 against 0.0090 with 64); 128 gained nothing.
  const calibration: CalibrationSet = { sequences: sampleSequences(train, 64, 256, 0) };
  const stored = source ? source.make(folder.model) : folder.model;
  const { config, weights } = decoderWeightsFromModel(stored);
  const fp32 = { ...buildDecoder(config, weights), metadata: stored.metadata };
  // fp32 scored once on the KL windows; every variant is compared with these rows.
  const base = await calibrationBase(fp32, divergenceWindows);
  const label = source?.label ?? 'ref-base';
  log(`${label}: ${test.length} test tokens for perplexity, ${divergenceWindows.length * 256} for KL / top-1`);
  const rows: BenchRow[] = [];
  for (const v of variants) {
    const t0 = performance.now();
    let model: Model;
    let bitsPerWeight: number = v.bits;
    let averageBits: number = v.bits;
    let extra: Record<string, number> = {};
    if (v.method === 'fp32') model = fp32;
    else if (!v.technique) model = stored;
    else {
      const out = await apply(v.technique, stored, v.params ?? {}, v.calibrated ? calibration : undefined);
      model = out.model;
      bitsPerWeight = Number(out.report.bitsPerWeight);
      if (out.report.averageBits !== undefined) averageBits = Number(out.report.averageBits);
      if (v.then) {
        const next = await apply(v.then.technique, model, v.then.params, undefined, train);
        model = next.model;
        extra = { trainLossBefore: round(Number(next.report.initialLoss), 4), trainLossAfter: round(Number(next.report.finalLoss), 4), adapterBytes: Number(next.report.adapterBytes ?? 0) };
        // Adapter bytes count as stored bits of the same weights.
        const weights = (Number(out.report.weightBytesAfter) * 8) / bitsPerWeight;
        bitsPerWeight += (Number(next.report.adapterBytes ?? 0) * 8) / weights;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const ppl = (await modelPerplexity(model, test, { window: 256, stride: 128 })).perplexity;
    const t2 = performance.now();
    const div = await klOnCalibration(base, model, divergenceWindows);
    const t3 = performance.now();
    const tokPerSec = await decodeSpeed(model, quick ? 32 : 128);
    const t4 = performance.now();
    // Where each row's time goes: method, perplexity, KL / top-1, decode speed.
    const times = { quantizeSeconds: round(seconds, 2), pplSeconds: round((t2 - t1) / 1000, 2), klSeconds: round((t3 - t2) / 1000, 2), decodeSeconds: round((t4 - t3) / 1000, 2) };
    rows.push({
      model: label,
      method: v.method,
      bits: v.bits,
      group: v.group,
      bitsPerWeight: round(bitsPerWeight, 3),
      /** Mean code width (mixed precision: over its chosen widths). */
      averageBits: round(averageBits, 3),
      bytes: serializeModel(model).model.byteLength,
      ppl: round(ppl, 3),
      klVsBase: round(div.kl, 5),
      top1Agreement: round(div.top1, 4),
      decodeTokPerSec: round(tokPerSec, 1),
      ...times,
      rowSeconds: round((t4 - t0) / 1000, 2),
      ...extra,
    });
    log(
      `${v.method} g${v.group ?? '-'}: ppl ${ppl.toFixed(3)}, KL ${div.kl.toFixed(5)}, top-1 ${div.top1.toFixed(4)}; ` +
        `${((t4 - t0) / 1000).toFixed(1)} s (method ${times.quantizeSeconds}, ppl ${times.pplSeconds}, KL ${times.klSeconds}, decode ${times.decodeSeconds})`,
    );
  }
  const fp = rows.find((r) => r.method === 'fp32')?.ppl as number | undefined;
  for (const r of rows) if (fp) r.pplVsFp32 = round((r.ppl as number) / fp, 4);
  for (const v of variants.filter((x) => x.baseline)) {
    const row = rows.find((r) => r.method === v.method && r.group === v.group);
    const before = rows.find((r) => r.method === v.baseline && r.group === v.group);
    if (!row || !before || fp === undefined) continue;
    row.baselinePpl = before.ppl;
    row.recoveryVsBaseline = round(((before.ppl as number) - (row.ppl as number)) / ((before.ppl as number) - fp), 3);
    log(`${v.method}: ppl ${row.ppl} vs ${v.baseline} ${before.ppl} (fp32 ${fp}): recovers ${row.recoveryVsBaseline} of the gap`);
  }
  return rows;
}

interface LargeVariant {
  method: string;
  /** In the --quick subset (fp32, the 4-bit target row, 3-bit's run-time cost). */
  quick?: boolean;
  lmHead: string;
  embeddings: string;
  params?: Record<string, unknown>;
}

const LARGE_VARIANTS: LargeVariant[] = [
  { quick: true, method: 'fp32', lmHead: 'fp32', embeddings: 'fp32' },
  { method: 'rtn 4-bit nbits g32, tied head fp32', lmHead: 'fp32 (tied)', embeddings: 'fp32', params: { bits: 4, groupSize: 32, format: 'matmulnbits' } },
  { quick: true, method: 'rtn 4-bit nbits g32, tiedHead', lmHead: '4-bit (own weight)', embeddings: 'fp32', params: { bits: 4, groupSize: 32, format: 'matmulnbits', tiedHead: true } },
  { quick: true, method: 'rtn 3-bit bitpacked g32, tied head fp32', lmHead: 'fp32 (tied)', embeddings: 'fp32', params: { bits: 3, groupSize: 32, format: 'bitpacked' } },
  { method: 'rtn 4-bit nbits g32, tiedHead, int8 embeddings', lmHead: '4-bit (own weight)', embeddings: 'int8', params: { bits: 4, groupSize: 32, format: 'matmulnbits', tiedHead: true, embeddings: 'int8' } },
];

async function largeRows(quick: boolean, log: (m: string) => void): Promise<BenchRow[]> {
  const config = decoderPreset('bench-100m');
  log('building bench-100m (random weights)...');
  const fp32 = buildDecoder(config, initDecoderWeights(config, 1, 0.02));
  const sessions: { v: LargeVariant; session: ort.InferenceSession; bytes: number; bitsPerWeight: number; loadMs: number; speeds: number[]; profile?: DecodeProfile }[] = [];
  try {
    for (const v of LARGE_VARIANTS.filter((x) => !quick || x.quick)) {
      let model = fp32;
      let bitsPerWeight = 32;
      if (v.params) {
        const out = await apply('quantize.rtn', fp32, v.params);
        model = out.model;
        bitsPerWeight = Number(out.report.bitsPerWeight);
      }
      const bytes = serializeModel(model).model;
      // Where a decode step spends its time, by ORT's profiler (a separate session, not timed below).
      const profile = await profileDecode(bytes, quick ? 8 : 32);
      // One ORT thread, as workers run sessions (ARCHITECTURE.md), for every variant alike.
      // Session creation includes graph optimization: for bit-packed weights, the constant folding that unpacks them.
      const t0 = performance.now();
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      const loadMs = performance.now() - t0;
      sessions.push({ v, session, bytes: bytes.byteLength, bitsPerWeight, loadMs, speeds: [], profile });
      log(`${v.method}: session created in ${loadMs.toFixed(0)} ms`);
      log(`${v.method}: step ${profile.stepMs.toFixed(1)} ms, session.run ${profile.runMs.toFixed(1)} ms, kernels ${profile.kernels.slice(0, 6).map((k) => `${k.op} ${k.ms.toFixed(2)}`).join(', ')}`);
      log(`${v.method}: ${(bytes.byteLength / 1e6).toFixed(0)} MB`);
    }
    const rounds = quick ? 3 : 5;
    const tokens = quick ? 32 : 128;
    for (let r = 0; r < rounds; r++) {
      for (const s of sessions) {
        const res = await measureLatency(s.session, { promptLength: 1, decodeTokens: tokens, warmup: r === 0 ? 1 : 0, repeats: 1 });
        s.speeds.push(res.decodeTokensPerSecond);
      }
      log(`round ${r + 1}/${rounds}: ${sessions.map((s) => `${s.v.method} ${s.speeds[r]!.toFixed(1)}`).join(', ')} tok/s`);
    }
  } finally {
    for (const s of sessions) await s.session.release();
  }
  // Per round ratios, then the median: the load of a shared machine moves every variant of a round alike.
  const base = sessions[0]!;
  return sessions.map((s) => ({
    model: 'large',
    method: s.v.method,
    bits: s.v.params ? Number(s.v.params.bits) : 32,
    group: s.v.params ? Number(s.v.params.groupSize) : null,
    bitsPerWeight: round(s.bitsPerWeight, 3),
    bytes: s.bytes,
    ppl: null,
    klVsBase: null,
    top1Agreement: null,
    decodeTokPerSec: round(median(s.speeds), 1),
    loadMs: round(s.loadMs, 0),
    loadVsFp32: round(s.loadMs / base.loadMs, 2),
    speedVsFp32: round(median(s.speeds.map((v, i) => v / base.speeds[i]!)), 3),
    lmHead: s.v.lmHead,
    embeddings: s.v.embeddings,
    // Profiled run, ms per decoded token: the whole step (median), ORT model_run and the largest kernels (means).
    profileStepMs: s.profile ? round(s.profile.stepMs, 2) : null,
    profileRunMs: s.profile ? round(s.profile.runMs, 2) : null,
    profileKernels: s.profile ? s.profile.kernels.slice(0, 5).map((k) => `${k.op} ${k.ms.toFixed(2)}`).join('; ') : null,
  }));
}

const suite: BenchSuite = {
  name: 'quant',
  description: 'quantization methods on ref-base (ppl, KL, top-1, bits/weight, size, decode) and 4-bit decode speed vs fp32 on bench-100m',
  async run({ quick, log: print }) {
    const log = elapsedLog(print);
    const rows = [...(await refRows(REF_VARIANTS.filter((x) => !quick || x.quick), quick, log)), ...(await largeRows(quick, log)), await gptqKernelRow(quick, log), ...(await llamaCppRows(quick, log))];
    methodTargets(rows, log);
    const int8 = rows.find((r) => r.model === 'ref-base' && r.method === 'rtn int8');
    if (int8) log(`int8 per-channel RTN perplexity / fp32: ${int8.pplVsFp32} (target <= 1.01)`);
    const q4 = rows.find((r) => r.model === 'large' && r.lmHead === '4-bit (own weight)' && r.embeddings === 'fp32');
    if (q4) log(`large: 4-bit MatMulNBits (LM head 4-bit) decodes ${q4.speedVsFp32}x fp32 (target >= 2.5)`);
    return rows;
  },
};

export default suite;
