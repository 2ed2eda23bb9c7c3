/**
 * awq: AWQ's scale-search objectives on ref-base at 4-bit g64 (symmetric, MatMulNBits),
 * beside fp32, RTN and GPTQ on the same grid, with the quant suite's rows (quant.ts
 * refRows: perplexity on the test split, KL and top-1 against fp32). Objectives: `block`
 * (the authors' code: attention / MLP output), `layer` (each group's own outputs), `model`
 * (the whole model's KL on calibration text with only the searched group quantized: the
 * best a per-group α of AWQ's form s = mean|x|^α can do by the model's own measure), and
 * the block objective without the clip search, to show what clipping adds.
 * Recovery = (ppl_rtn - ppl_awq) / (ppl_rtn - ppl_fp32); target >= 0.5.
 */
import type { BenchRow, BenchSuite } from '../suite';
import { refRows, type Variant } from './quant';
import { elapsedLog, recoveryVsRtn } from './quant-methods';

const nbits = { bits: 4, groupSize: 64, symmetric: true, format: 'matmulnbits' };

const VARIANTS: Variant[] = [
  { method: 'fp32', bits: 32, group: null },
  { method: 'rtn 4-bit nbits', technique: 'quantize.rtn', params: nbits, bits: 4, group: 64 },
  { method: 'gptq 4-bit nbits', technique: 'quantize.gptq', params: nbits, calibrated: true, bits: 4, group: 64 },
  { method: 'awq block', technique: 'quantize.awq', params: { ...nbits, objective: 'block' }, calibrated: true, bits: 4, group: 64 },
  { method: 'awq layer', technique: 'quantize.awq', params: { ...nbits, objective: 'layer' }, calibrated: true, bits: 4, group: 64 },
  { method: 'awq model (oracle α)', technique: 'quantize.awq', params: { ...nbits, objective: 'model', blockSequences: 8 }, calibrated: true, bits: 4, group: 64 },
  { method: 'awq block, no clip', technique: 'quantize.awq', params: { ...nbits, objective: 'block', clip: false }, calibrated: true, bits: 4, group: 64 },
];

const suite: BenchSuite = {
  name: 'awq',
  description: "AWQ's scale-search objectives (block, layer, whole-model oracle, no clip) on ref-base 4-bit g64 against RTN and GPTQ",
  async run({ quick, log: print }) {
    const log = elapsedLog(print);
    const rows: BenchRow[] = await refRows(quick ? VARIANTS.filter((v) => !v.method.includes('no clip')) : VARIANTS, quick, log);
    const ppl = (m: string) => rows.find((r) => r.method === m)?.ppl as number | undefined;
    const fp32 = ppl('fp32');
    const rtn = ppl('rtn 4-bit nbits');
    if (fp32 === undefined || rtn === undefined) return rows;
    for (const r of rows) {
      if (r.method === 'fp32' || r.method === 'rtn 4-bit nbits') continue;
      r.recoveryVsRtn = recoveryVsRtn(r.ppl as number, rtn, fp32);
      log(`${r.method}: ppl ${r.ppl} vs rtn ${rtn} (fp32 ${fp32}): recovery ${r.recoveryVsRtn} (target >= 0.5)`);
    }
    return rows;
  },
};

export default suite;
