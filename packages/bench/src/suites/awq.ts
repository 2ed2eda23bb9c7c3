/**
 * awq: AWQ's scale-search objectives on ref-base at 4-bit g64 (symmetric, MatMulNBits),
 * beside fp32, RTN and GPTQ on the same grid, with the quant suite's rows (quant.ts
 * refRows: perplexity on the test split, KL and top-1 against fp32). Objectives: `block`
 * (the authors' code: attention / MLP output), `layer` (each group's own outputs), `model`
 * (the whole model's KL on calibration text with only the searched group quantized: the
 * best a per-group α of AWQ's form s = mean|x|^α can do by the model's own measure), and
 * the block objective without the clip search, to show what clipping adds, and the layer
 * objective with q and k left unclipped as in the authors' code.
 * Then the paper's own setting (Lin et al. 2023, §5.1: asymmetric grid with a zero point,
 * the code's `zero_point=True`), at g64 and at the paper's g128: RTN, GPTQ and AWQ (block
 * and layer objectives, each with the two clip forms of quantize.awq's clipShrink) each on
 * that grid.
 * Recovery = (ppl_rtn - ppl_method) / (ppl_rtn - ppl_fp32) against the RTN row on the same
 * grid (bits, group size, symmetric or not); target >= 0.5.
 */
import type { BenchRow, BenchSuite } from '../suite';
import { refRows, type Variant } from './quant';
import { compareVariantsWithRtn, elapsedLog, nbits } from './quant-methods';

const sym = nbits(4, 64, true);
const SYM_RTN = 'rtn 4-bit nbits';

/**
 * RTN, GPTQ and AWQ (block, layer objectives) on the asymmetric 4-bit grid of one group size;
 * AWQ with its clip shrinking the range at both ends (`range`, the earlier default) and with
 * the authors' clamp to ±f·max|w| (`clamp`, the default).
 */
function asymmetricRows(group: number): Variant[] {
  const p = nbits(4, group, false);
  const rtn = `rtn 4-bit nbits asym g${group}`;
  const awq = (objective: string, clipShrink: string): Variant => ({
    method: `awq ${objective} asym g${group}, ${clipShrink} clip`,
    technique: 'quantize.awq',
    params: { ...p, objective, clipShrink },
    calibrated: true,
    bits: 4,
    group,
    rtn,
  });
  return [
    { method: rtn, technique: 'quantize.rtn', params: p, bits: 4, group },
    { method: `gptq 4-bit nbits asym g${group}`, technique: 'quantize.gptq', params: p, calibrated: true, bits: 4, group, rtn },
    awq('block', 'range'),
    awq('layer', 'range'),
    awq('block', 'clamp'),
    awq('layer', 'clamp'),
  ];
}

const VARIANTS: Variant[] = [
  { method: 'fp32', bits: 32, group: null },
  { method: SYM_RTN, technique: 'quantize.rtn', params: sym, bits: 4, group: 64 },
  { method: 'gptq 4-bit nbits', technique: 'quantize.gptq', params: sym, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  { method: 'awq block', technique: 'quantize.awq', params: { ...sym, objective: 'block' }, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  { method: 'awq layer', technique: 'quantize.awq', params: { ...sym, objective: 'layer' }, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  { method: 'awq model (oracle α)', technique: 'quantize.awq', params: { ...sym, objective: 'model', blockSequences: 8 }, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  // The authors' auto_clip leaves q and k unclipped (quantize.awq's clipQK).
  { method: 'awq layer, q/k unclipped', technique: 'quantize.awq', params: { ...sym, objective: 'layer', clipQK: false }, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  { method: 'awq block, no clip', technique: 'quantize.awq', params: { ...sym, objective: 'block', clip: false }, calibrated: true, bits: 4, group: 64, rtn: SYM_RTN },
  ...asymmetricRows(64),
  ...asymmetricRows(128),
];

const suite: BenchSuite = {
  name: 'awq',
  description: "AWQ's scale-search objectives (block, layer, whole-model oracle, no clip) on ref-base 4-bit g64 against RTN and GPTQ, and the paper's asymmetric grid at g64 and g128",
  async run({ quick, log: print }) {
    const log = elapsedLog(print);
    const variants = quick ? VARIANTS.filter((v) => !v.method.includes('no clip') && !v.method.includes('unclipped') && v.group !== 128) : VARIANTS;
    const rows: BenchRow[] = await refRows(variants, quick, log);
    compareVariantsWithRtn(rows, variants, 'ref-base', log);
    return rows;
  },
};

export default suite;
