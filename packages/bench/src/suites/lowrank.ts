/**
 * lowrank: models/ref-base on the bundled test split, dense against plain truncated SVD,
 * ASVD and SVD-LLM at the same ranks (so the same parameter count) for every block
 * projection (quick: the MLP projections), at two parameter shares (quick: one); each row reports the time its SVDs took.
 * Target (issue 18): at equal parameters, activation-aware SVD has lower perplexity than plain SVD.
 */
import { inspectModel } from '@distillery/onnx';
import { asvdParams, factorizeAsvd, factorizeSvd, factorizeSvdLlm, svdLlmParams, svdParams, type TechniqueResult } from '@distillery/techniques';
import type { BenchRow, BenchSuite } from '../suite';
import { benchContext, compressionRow, denseRow, loadRefBase, round } from './compression-rows';

const suite: BenchSuite = {
  name: 'lowrank',
  description: 'plain, activation-aware (ASVD) and whitened (SVD-LLM) low-rank factorization on ref-base at equal parameters',
  async run({ quick, log }) {
    const b = await loadRefBase(quick, log);
    const ctx = benchContext(b, log);
    const denseBytes = inspectModel(b.model).totalBytes;
    const rows: BenchRow[] = [await denseRow(b, quick, log)];
    const methods: [string, (p: object) => Promise<TechniqueResult>][] = [
      ['svd', (p) => factorizeSvd(b.model, svdParams.parse(p), ctx)],
      ['asvd', (p) => factorizeAsvd(b.model, asvdParams.parse(p), ctx)],
      ['svd-llm', (p) => factorizeSvdLlm(b.model, svdLlmParams.parse(p), ctx)],
    ];
    // Quick factorizes the MLP projections only: under load the 28 SVDs of every block projection alone took over a minute per method.
    const roles = quick ? { roles: ['gate', 'up', 'down'] } : {};
    for (const ratio of quick ? [0.6] : [0.8, 0.6]) {
      for (const [method, run] of methods) {
        const t0 = performance.now();
        const out = await run({ paramsRatio: ratio, ...roles });
        const seconds = round((performance.now() - t0) / 1000, 1);
        const row = await compressionRow(b, { model: 'ref-base', method, target: `${ratio * 100}% of layer params`, compressed: out.model, report: out.report, denseBytes, extra: { svdSeconds: out.report.svdSeconds ?? null, seconds } }, quick);
        rows.push(row);
        log(`${method} ${ratio}: ppl ${row.ppl}, params ${row.params}, SVDs ${out.report.svdSeconds} s`);
      }
      const at = (m: string) => rows.find((r) => r.method === m && r.target === `${ratio * 100}% of layer params`)!;
      for (const m of ['asvd', 'svd-llm']) {
        log(`${m} vs svd at ${ratio}: ppl ${at(m).ppl} vs ${at('svd').ppl}, params equal: ${at(m).params === at('svd').params}: ${(at(m).ppl as number) < (at('svd').ppl as number) ? 'met' : 'NOT met'}`);
      }
    }
    return rows;
  },
};

export default suite;
