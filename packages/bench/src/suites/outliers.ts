/**
 * outliers: AWQ and Wanda on what they were made for. ref-base's input channels have no
 * outliers (Wanda's report: 90th/10th percentile input norm per layer, median 1.40), so
 * AWQ's activation-aware scales and Wanda's activation norms have little to act on there.
 * This suite measures the same methods on ref-base with outlier channels
 * (outlier-channels.ts: 2 hidden dimensions' norm weights x20 and the weights reading them
 * /20, the same function up to float rounding, the pattern LLM.int8() reports for large
 * models): its fp32 perplexity is ref-base's, which the first row shows.
 * Quantization at 4-bit g64 symmetric (MatMulNBits): RTN, GPTQ, AWQ (layer and block
 * objectives), recovery = (ppl_rtn - ppl) / (ppl_rtn - ppl_fp32), issue 16's measure.
 * Pruning at 50%: magnitude (per layer, per output), Wanda, SparseGPT, each increase over
 * dense as a share of magnitude's, issue 18's measure.
 */
import type { Model } from '@distillery/onnx';
import type { BenchRow, BenchSuite } from '../suite';
import { withOutlierChannels, type OutlierChannelsOptions } from '../outlier-channels';
import { benchContext, denseRow, loadRefBase } from './compression-rows';
import { refRows, type Variant } from './quant';
import { compareVariantsWithRtn, elapsedLog, nbits } from './quant-methods';
import { rowAdder, unstructuredRows } from './prune';

const OUTLIERS: OutlierChannelsOptions = { count: 2, factor: 20 };
const LABEL = `ref-base, ${OUTLIERS.count} outlier channels x${OUTLIERS.factor}`;

const sym = nbits(4, 64, true);
const RTN = 'rtn 4-bit nbits';
const VARIANTS: Variant[] = [
  { method: 'fp32', bits: 32, group: null },
  { method: RTN, technique: 'quantize.rtn', params: sym, bits: 4, group: 64 },
  { method: 'gptq 4-bit nbits', technique: 'quantize.gptq', params: sym, calibrated: true, bits: 4, group: 64, rtn: RTN },
  { method: 'awq layer', technique: 'quantize.awq', params: { ...sym, objective: 'layer' }, calibrated: true, bits: 4, group: 64, rtn: RTN },
  { method: 'awq block', technique: 'quantize.awq', params: { ...sym, objective: 'block' }, calibrated: true, bits: 4, group: 64, rtn: RTN },
];

const suite: BenchSuite = {
  name: 'outliers',
  description: 'AWQ, GPTQ, Wanda and SparseGPT against RTN and magnitude on ref-base with outlier channels (same function), beside ref-base',
  async run({ quick, log: print }) {
    const log = elapsedLog(print);
    const make = (m: Model): Model => {
      const o = withOutlierChannels(m, OUTLIERS);
      log(`outlier channels: hidden dimensions ${o.channels.join(', ')} x${OUTLIERS.factor} in every norm feeding q/k/v and gate/up, the rows reading them /${OUTLIERS.factor}`);
      return o.model;
    };
    const rows: BenchRow[] = [...(await refRows(VARIANTS.slice(0, 1), quick, log)), ...(await refRows(VARIANTS, quick, log, { label: LABEL, make }))];
    const fp32 = rows.find((r) => r.model === LABEL && r.method === 'fp32');
    if (!fp32) return rows;
    log(`fp32 perplexity: ref-base ${rows[0]!.ppl}, with outlier channels ${fp32.ppl}`);
    compareVariantsWithRtn(rows, VARIANTS, LABEL, log);

    const b = await loadRefBase(quick, log, make);
    const pruneRows: BenchRow[] = [];
    pruneRows.push(await denseRow(b, quick, log, LABEL));
    await unstructuredRows(b, benchContext(b, log), rowAdder(b, quick, log, pruneRows, LABEL), pruneRows, log, true);
    return [...rows, ...pruneRows];
  },
};

export default suite;
