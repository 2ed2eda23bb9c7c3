/**
 * SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models Can Be
 * Accurately Pruned in One-Shot", Algorithm 1): prune input rows left to right; each
 * pruned weight's error is spread over the not-yet-visited inputs through the Cholesky
 * factor of the inverse calibration Hessian H = X^T X + lambda*I (OBS update, eq. 3-5), with
 * lazy batched updates of the later blocks and an adaptive mask chosen per block of Bs
 * inputs by w^2 / [H^-1]_cc^2 (sec. 3.3). The paper's W is [out, in]; ours is [in, out],
 * so the paper's column c is our row c and its rows are our columns.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { inverseUpperCholesky } from '../linalg/cholesky';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { pruneTargetParams, pruneWithActivations, refineTarget, sequentialParam } from './prune-layers';
import { maskFor, type SparsityTarget } from './sparsity-mask';

export interface SparseGptOptions {
  target: SparsityTarget;
  /** Lazy-update and mask-selection block (paper: B = Bs = 128). Rounded up to a multiple of M for N:M. */
  blockSize: number;
  /** Dampening as a fraction of the mean diagonal of H (paper: 1%). */
  dampening: number;
}

export interface SparseGptResult {
  /** Pruned and reconstructed W[in, out]. */
  w: Float32Array;
  mask: Uint8Array;
  /** Inputs that never fired in calibration (H_jj = 0): their rows are set to zero, as in the reference code. */
  deadInputs: number;
}

/** SparseGPT on W[rows = in, cols = out] with the calibration Gram matrix X^T X [in, in]. */
export function sparseGpt(w: Float32Array, rows: number, cols: number, gram: ArrayLike<number>, opts: SparseGptOptions, what = 'prune.sparsegpt'): SparseGptResult {
  if (w.length !== rows * cols) throw new Error(`${what}: ${w.length} weights for [${rows}, ${cols}]`);
  if (gram.length !== rows * rows) throw new Error(`${what}: Gram matrix has ${gram.length} values, expected ${rows}x${rows}`);
  const { target } = opts;
  if (target.kind === 'nm' && rows % target.m !== 0) throw new Error(`${what}: ${target.n}:${target.m} needs the input size to be a multiple of ${target.m}, but it is ${rows}`);
  const W = Float64Array.from(w);
  const H = Float64Array.from(gram as ArrayLike<number>);
  let deadInputs = 0;
  for (let j = 0; j < rows; j++) {
    if (H[j * rows + j] === 0) {
      H[j * rows + j] = 1;
      W.fill(0, j * cols, (j + 1) * cols);
      deadInputs++;
    }
  }
  let meanDiag = 0;
  for (let j = 0; j < rows; j++) meanDiag += H[j * rows + j]!;
  meanDiag /= rows;
  for (let j = 0; j < rows; j++) H[j * rows + j]! += opts.dampening * meanDiag;
  const U = inverseUpperCholesky(H, rows, `${what}: calibration Hessian`);

  const mask = new Uint8Array(rows * cols).fill(1);
  const B = target.kind === 'nm' ? Math.ceil(opts.blockSize / target.m) * target.m : opts.blockSize;
  const err = new Float64Array(B * cols); // E: scaled errors of the current block, one row per input
  let prunedSoFar = 0;
  for (let i1 = 0; i1 < rows; i1 += B) {
    const i2 = Math.min(i1 + B, rows);
    const count = i2 - i1;
    if (target.kind === 'unstructured') {
      // Adaptive mask for the whole block from the current (already updated) weights.
      const score = new Float32Array(count * cols);
      for (let r = 0; r < count; r++) {
        const d = U[(i1 + r) * rows + i1 + r]!;
        for (let c = 0; c < cols; c++) score[r * cols + c] = W[(i1 + r) * cols + c]! ** 2 / (d * d);
      }
      // Cumulative rounding: the blocks' pruned counts add up to exactly round(s * size).
      const goal = Math.round(target.sparsity * i2 * cols) - prunedSoFar;
      const bm = maskFor(score, count, cols, { kind: 'unstructured', sparsity: goal / (count * cols) }, 'layer', what);
      mask.set(bm, i1 * cols);
      for (let k = 0; k < bm.length; k++) prunedSoFar += 1 - bm[k]!;
    }
    for (let j = i1; j < i2; j++) {
      if (target.kind === 'nm' && (j - i1) % target.m === 0) {
        const score = new Float32Array(target.m * cols);
        for (let r = 0; r < target.m; r++) {
          const d = U[(j + r) * rows + j + r]!;
          for (let c = 0; c < cols; c++) score[r * cols + c] = W[(j + r) * cols + c]! ** 2 / (d * d);
        }
        mask.set(maskFor(score, target.m, cols, target, 'layer', what), j * cols);
      }
      const d = U[j * rows + j]!;
      const e = err.subarray((j - i1) * cols, (j - i1 + 1) * cols);
      for (let c = 0; c < cols; c++) {
        const keep = mask[j * cols + c]!;
        e[c] = keep ? 0 : W[j * cols + c]! / d;
        if (!keep) W[j * cols + c] = 0;
      }
      // OBS update of the rest of the block (eq. 5 with the Cholesky row of H^-1).
      for (let r = j + 1; r < i2; r++) {
        const f = U[j * rows + r]!;
        if (f === 0) continue;
        const row = r * cols;
        for (let c = 0; c < cols; c++) W[row + c]! -= e[c]! * f;
      }
    }
    // Lazy batch update of every later input row: W[i2:, :] -= U[i1:i2, i2:]^T E.
    for (let r = i2; r < rows; r++) {
      const row = r * cols;
      for (let j = i1; j < i2; j++) {
        const f = U[j * rows + r]!;
        if (f === 0) continue;
        const e = (j - i1) * cols;
        for (let c = 0; c < cols; c++) W[row + c]! -= err[e + c]! * f;
      }
    }
  }
  const out = new Float32Array(rows * cols);
  for (let k = 0; k < out.length; k++) out[k] = mask[k] ? W[k]! : 0;
  return { w: out, mask, deadInputs };
}

export const sparseGptParams = z
  .object({
    ...pruneTargetParams,
    blockSize: z.number().int().min(1).max(4096).default(128),
    dampening: z.number().min(0).max(1).default(0.01),
    ...sequentialParam,
  })
  .strict()
  .superRefine(refineTarget);
export type SparseGptParams = z.output<typeof sparseGptParams>;

export async function pruneSparseGpt(model: Model, params: SparseGptParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.sparsegpt';
  let deadInputs = 0;
  const result = await pruneWithActivations(model, what, params, ctx, true, (stats) => (t, target) => {
    const r = sparseGpt(t.values, t.inFeatures, t.outFeatures, stats.get(t.name)!.gram!, { target, blockSize: params.blockSize, dampening: params.dampening }, `${what}: layer ${t.name}`);
    deadInputs += r.deadInputs;
    return { values: r.w, mask: r.mask };
  });
  return { ...result, report: { ...result.report, deadInputs } };
}

export const pruneSparseGptTechnique = defineTechnique({
  id: 'prune.sparsegpt',
  family: 'prune',
  title: 'SparseGPT (one-shot pruning with weight reconstruction)',
  description:
    'Prunes to any sparsity or an N:M pattern and updates the remaining weights to reconstruct each layer\'s output on calibration ' +
    'data (OBS updates through the inverse Hessian X^T X, lazy blocks). Dense zeros in the file; packed size reported.',
  params: sparseGptParams,
  apply: pruneSparseGpt,
});
