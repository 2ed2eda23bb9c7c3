/**
 * Wanda (Sun et al. 2023, "A Simple and Effective Pruning Approach for Large Language
 * Models", eq. 1): S_ij = |W_ij| * ||X_j||_2, the weight's magnitude times the L2 norm of
 * the input feature it multiplies over the calibration tokens, compared within each
 * output (sec. 3). Our W is [in, out], so input feature j is row j and an output is a column;
 * ||X_j||_2^2 = sum_t x_tj^2 comes from the kit's activation capture.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { applyMask, pruneTargetParams, pruneWithActivations, refineTarget, sequentialParam } from './prune-layers';
import { maskFor, type SparsityTarget } from './sparsity-mask';

/** ||X_j||_2 for every input feature from sum_t x_tj^2 (the diagonal of X^T X). */
export function inputNorms(sumSq: ArrayLike<number>): Float32Array {
  return Float32Array.from(sumSq, (v) => Math.sqrt(Math.max(0, v)));
}

/**
 * How unequal the input norms of a layer are: 90th over 10th percentile and largest over
 * median (nearest rank). Wanda departs from magnitude pruning only as far as these depart
 * from 1; LLMs' outlier features make them large (Sun et al. 2023, sec. 2).
 */
export function inputNormSpread(norms: ArrayLike<number>): { p90OverP10: number; maxOverMedian: number } {
  if (!norms.length) throw new Error('inputNormSpread: no input norms');
  const s = Float64Array.from(norms).sort();
  const at = (p: number) => s[Math.max(0, Math.ceil(p * s.length) - 1)]!;
  return { p90OverP10: at(0.9) / at(0.1), maxOverMedian: s[s.length - 1]! / at(0.5) };
}

export function wandaScores(w: Float32Array, rows: number, cols: number, inputNorms: Float32Array): Float32Array {
  if (inputNorms.length !== rows) throw new Error(`wanda: ${inputNorms.length} input norms for a weight with ${rows} inputs`);
  const s = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const n = inputNorms[r]!;
    for (let c = 0; c < cols; c++) s[r * cols + c] = Math.abs(w[r * cols + c]!) * n;
  }
  return s;
}

/** Wanda mask of W[rows = in, cols = out]: unstructured targets compare per output column. */
export function wandaMask(w: Float32Array, rows: number, cols: number, inputNorms: Float32Array, target: SparsityTarget, what = 'prune.wanda', scope: 'output' | 'layer' = 'output'): Uint8Array {
  return maskFor(wandaScores(w, rows, cols, inputNorms), rows, cols, target, scope, what);
}

export const wandaParams = z
  .object({
    ...pruneTargetParams,
    /** Which weights compete: those of one output (the paper's choice for LLMs, sec. 3) or the whole layer. */
    comparison: z.enum(['output', 'layer']).default('output'),
    ...sequentialParam,
  })
  .strict()
  .superRefine(refineTarget);
export type WandaParams = z.output<typeof wandaParams>;

export async function pruneWanda(model: Model, params: WandaParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.wanda';
  const spreads: { p90OverP10: number; maxOverMedian: number }[] = [];
  const result = await pruneWithActivations(model, what, params, ctx, false, (stats) => (t, target) => {
    const norms = inputNorms(stats.get(t.name)!.sumSq);
    spreads.push(inputNormSpread(norms));
    const mask = wandaMask(t.values, t.inFeatures, t.outFeatures, norms, target, `${what}: layer ${t.name}`, params.comparison);
    return { values: applyMask(t.values, mask), mask };
  });
  // How far the activations could move the choice away from plain magnitude, over the layers pruned.
  const p90 = spreads.map((x) => x.p90OverP10).sort((a, b) => a - b);
  const round = (v: number) => Number(v.toFixed(3));
  return {
    ...result,
    report: {
      ...result.report,
      inputNormP90OverP10Median: round(p90[Math.ceil(0.5 * p90.length) - 1]!),
      inputNormP90OverP10Max: round(p90[p90.length - 1]!),
      inputNormMaxOverMedianMax: round(Math.max(...spreads.map((x) => x.maxOverMedian))),
    },
  };
}

export const pruneWandaTechnique = defineTechnique({
  id: 'prune.wanda',
  family: 'prune',
  title: 'Wanda pruning (weights and activations)',
  description:
    'Zeroes the weights with the smallest |W| times input activation norm (from calibration data), compared within each output; ' +
    'any sparsity or an N:M pattern. No weight update. Dense zeros in the file; packed size reported.',
  params: wandaParams,
  apply: pruneWanda,
});
