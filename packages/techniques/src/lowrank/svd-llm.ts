/**
 * SVD-LLM truncation-aware whitening (Wang et al. 2024, "SVD-LLM: Truncation-aware Singular
 * Value Decomposition for Large Language Model Compression", sec. 3.1): with the calibration
 * Gram matrix X^T X = L L^T (Cholesky), ||X (W - W')||_F = ||L^T (W - W')||_F, so truncating
 * the SVD of L^T W discards exactly the output error of each dropped singular value
 * (Theorem 3.2). Our W is [in, out] (y = x W), hence L^T on the left; A = L^-T U_k Sigma_k.
 */
import { choleskyLower, lowerInverse } from '../linalg/cholesky';
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { layersWithActivations } from '../calibrated-layers';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import type { InputTransform } from './factorize';
import { factorizeLinearLayers, lowRankParams, lowRankSelection, refineRankRule } from './lowrank-layers';

export function whiteningTransform(gram: ArrayLike<number>, n: number, dampening: number, what: string): InputTransform {
  if (gram.length !== n * n) throw new Error(`${what}: Gram matrix has ${gram.length} values, expected ${n}x${n}`);
  const g = Float64Array.from(gram as ArrayLike<number>);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += g[i * n + i]!;
  mean /= n;
  if (!(mean > 0)) throw new Error(`${what}: the calibration activations are all zero`);
  // Dampening keeps L invertible when some input directions never occur in calibration.
  for (let i = 0; i < n; i++) g[i * n + i]! += dampening * mean;
  const l = choleskyLower(g, n, `${what}: calibration Gram matrix`);
  const linv = lowerInverse(l, n);
  return {
    apply(w, rows, cols) {
      if (rows !== n) throw new Error(`${what}: whitening of size ${n} for a weight with ${rows} inputs`);
      // (L^T W)[i, c] = sum_{p >= i} L[p, i] W[p, c]
      const out = new Float64Array(rows * cols);
      for (let p = 0; p < n; p++) {
        for (let i = 0; i <= p; i++) {
          const f = l[p * n + i]!;
          const o = i * cols;
          const src = p * cols;
          for (let c = 0; c < cols; c++) out[o + c]! += f * w[src + c]!;
        }
      }
      return out;
    },
    invert(a, rows, k) {
      // (L^-T A)[i, j] = sum_{p >= i} Linv[p, i] A[p, j]
      const out = new Float64Array(rows * k);
      for (let p = 0; p < n; p++) {
        for (let i = 0; i <= p; i++) {
          const f = linv[p * n + i]!;
          for (let j = 0; j < k; j++) out[i * k + j]! += f * a[p * k + j]!;
        }
      }
      return Float32Array.from(out);
    },
  };
}

export const svdLlmParams = z
  .object({
    ...lowRankParams,
    /** Added to the Gram diagonal as a share of its mean, so the Cholesky factor exists. */
    dampening: z.number().min(0).max(1).default(0.01),
  })
  .strict()
  .superRefine(refineRankRule);
export type SvdLlmParams = z.output<typeof svdLlmParams>;

export async function factorizeSvdLlm(model: Model, params: SvdLlmParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'lowrank.svd-llm';
  const { layers, stats } = await layersWithActivations(model, what, lowRankSelection(params), ctx, true);
  return factorizeLinearLayers(model, what, params, ctx, (t) => whiteningTransform(stats.get(t.name)!.gram!, t.inFeatures, params.dampening, `${what}: layer ${t.name}`), layers);
}

export const svdLlmTechnique = defineTechnique({
  id: 'lowrank.svd-llm',
  family: 'lowrank',
  title: 'SVD-LLM (truncation-aware whitening)',
  description:
    'Truncated SVD of L^T W, where L L^T = X^T X is the Cholesky factor of the layer\'s calibration inputs, so each dropped ' +
    'singular value costs exactly its share of the output error; two MatMuls per layer.',
  params: svdLlmParams,
  apply: factorizeSvdLlm,
});
