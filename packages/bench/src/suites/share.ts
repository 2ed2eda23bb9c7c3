/**
 * share: models/ref-base on the bundled test split, dense against k-means weight sharing
 * (16 values = 4 bits; one codebook per layer, and per group of 16 output columns, which
 * costs the same bits per weight as one float32 scale per output channel) and 4-bit
 * per-channel symmetric RTN (quantize.rtn) on the same layers. Rows carry bitsPerWeight
 * as the kit counts it (indices, codebooks, scales).
 * Target (issue 18): 16-value k-means perplexity no worse than 4-bit per-channel RTN at equal bits per weight.
 */
import { inspectModel } from '@distillery/onnx';
import { kmeansParams, quantizeRtn, rtnParams, shareKmeans, type TechniqueResult } from '@distillery/techniques';
import type { BenchRow, BenchSuite } from '../suite';
import { benchContext, compressionRow, denseRow, loadRefBase, round } from './compression-rows';

const suite: BenchSuite = {
  name: 'share',
  description: 'k-means weight sharing against 4-bit per-channel RTN at equal bits per weight on ref-base',
  async run({ quick, log }) {
    const b = await loadRefBase(quick, log);
    const ctx = benchContext(b, log);
    const denseBytes = inspectModel(b.model).totalBytes;
    const rows: BenchRow[] = [await denseRow(b, quick, log)];
    const cases: [string, string, () => Promise<TechniqueResult>][] = [
      ['rtn', '4-bit per channel', () => quantizeRtn(b.model, rtnParams.parse({ bits: 4, lmHead: false }), ctx)],
      ['kmeans', '16 values per layer', () => shareKmeans(b.model, kmeansParams.parse({ bits: 4, iterations: quick ? 15 : 40 }), ctx)],
      ['kmeans', '16 values per 16 columns', () => shareKmeans(b.model, kmeansParams.parse({ bits: 4, groupColumns: 16, iterations: quick ? 15 : 40 }), ctx)],
    ];
    if (!quick) cases.push(['kmeans', '8 values per 16 columns', () => shareKmeans(b.model, kmeansParams.parse({ bits: 3, groupColumns: 16, iterations: 40 }), ctx)]);
    for (const [method, target, run] of cases) {
      const t0 = performance.now();
      const out = await run();
      const seconds = round((performance.now() - t0) / 1000, 1);
      const row = await compressionRow(b, { model: 'ref-base', method, target, compressed: out.model, report: out.report, denseBytes, extra: { bitsPerWeight: out.report.bitsPerWeight ?? null, seconds } }, quick);
      rows.push(row);
      log(`${method} ${target}: ppl ${row.ppl}, ${out.report.bitsPerWeight} bits/weight`);
    }
    const rtn = rows[1]!;
    const grouped = rows[3]!;
    log(`k-means (16 per 16 columns) vs RTN 4-bit per channel: ppl ${grouped.ppl} vs ${rtn.ppl} at ${grouped.bitsPerWeight} vs ${rtn.bitsPerWeight} bits/weight: ${(grouped.ppl as number) <= (rtn.ppl as number) ? 'met' : 'NOT met'}`);
    return rows;
  },
};

export default suite;
