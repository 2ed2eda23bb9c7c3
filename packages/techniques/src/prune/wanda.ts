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
import { magnitudeMask } from './magnitude';
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

/**
 * The layer's output error ||X (W - W_pruned)||_F^2 with X^T X cut to its diagonal:
 * sum over pruned (j, c) of W_jc^2 ||X_j||_2^2. Wanda's score squared is each weight's share
 * of it, so within an output Wanda's mask is the one that minimizes it (Sun et al. 2023,
 * sec. 3, Wanda as SparseGPT's score with a diagonal Hessian).
 */
export function diagonalPruneError(w: Float32Array, rows: number, cols: number, mask: Uint8Array, sumSq: ArrayLike<number>): number {
  if (sumSq.length !== rows || w.length !== rows * cols || mask.length !== rows * cols) throw new Error(`diagonalPruneError: a [${rows}, ${cols}] weight needs ${rows * cols} weights and mask entries and ${rows} input sums of squares`);
  let e = 0;
  for (let r = 0; r < rows; r++) {
    let er = 0;
    for (let c = 0; c < cols; c++) if (!mask[r * cols + c]) er += w[r * cols + c]! ** 2;
    e += er * sumSq[r]!;
  }
  return e;
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
  // Per layer, Wanda's diagonal output error over that of per-layer magnitude pruning on the same activations.
  const errorRatios: number[] = [];
  let differing = 0;
  let weights = 0;
  const result = await pruneWithActivations(model, what, params, ctx, false, (stats) => (t, target) => {
    const sumSq = stats.get(t.name)!.sumSq;
    const norms = inputNorms(sumSq);
    spreads.push(inputNormSpread(norms));
    const mask = wandaMask(t.values, t.inFeatures, t.outFeatures, norms, target, `${what}: layer ${t.name}`, params.comparison);
    const magnitude = magnitudeMask(t.values, t.inFeatures, t.outFeatures, target, `${what}: layer ${t.name}`);
    errorRatios.push(diagonalPruneError(t.values, t.inFeatures, t.outFeatures, mask, sumSq) / diagonalPruneError(t.values, t.inFeatures, t.outFeatures, magnitude, sumSq));
    for (let i = 0; i < mask.length; i++) differing += mask[i] === magnitude[i] ? 0 : 1;
    weights += mask.length;
    return { values: applyMask(t.values, mask), mask };
  });
  // How far the activations could move the choice away from plain magnitude, over the layers pruned.
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.ceil(0.5 * v.length) - 1]!;
  const round = (v: number) => Number(v.toFixed(3));
  return {
    ...result,
    report: {
      ...result.report,
      inputNormP90OverP10Median: round(median(spreads.map((x) => x.p90OverP10))),
      inputNormP90OverP10Max: round(Math.max(...spreads.map((x) => x.p90OverP10))),
      inputNormMaxOverMedianMax: round(Math.max(...spreads.map((x) => x.maxOverMedian))),
      diagErrorVsMagnitudeMedian: round(median(errorRatios)),
      diagErrorVsMagnitudeMin: round(Math.min(...errorRatios)),
      /** Share of the pruned layers' weights whose keep-or-prune differs from per-layer magnitude's. */
      maskDiffersFromMagnitude: round(differing / weights),
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
