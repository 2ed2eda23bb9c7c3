/**
 * The shape every low-rank method shares: W[in, out] ~ A[in, k] B[k, out], obtained as the
 * truncated SVD of T W for an invertible input-side transform T (identity for plain SVD,
 * diag(activation scale) for ASVD, the whitening Cholesky factor for SVD-LLM), then
 * A = T^-1 U_k Sigma_k, B = V_k^T, so that x W ~ (x A) B. Truncating T W minimizes
 * ||T (W - A B)||_F, the error the transform chose to measure.
 */
import { svd, truncatedFactors } from '../linalg/svd';
import { chooseRank, type RankRule } from './rank-rule';

export interface Factorization {
  a: Float32Array;
  b: Float32Array;
  rank: number;
  /** Singular values of T W, largest first. */
  sigma: Float64Array;
  /** ||T W - T A B||_F / ||T W||_F: the discarded share of the transformed spectrum. */
  relativeError: number;
}

export interface InputTransform {
  /** T W, row-major [in, out]. */
  apply(w: Float32Array, rows: number, cols: number): Float64Array;
  /** T^-1 A for A [in, k]. */
  invert(a: Float32Array, rows: number, k: number): Float32Array;
}

export const identityTransform: InputTransform = {
  apply: (w) => Float64Array.from(w),
  invert: (a) => a,
};

/** Factorize W, or null when the chosen rank would not reduce the layer's parameters. */
export function factorize(w: Float32Array, rows: number, cols: number, rule: RankRule, transform: InputTransform, what: string): Factorization | null {
  if (w.length !== rows * cols) throw new Error(`${what}: ${w.length} weights for [${rows}, ${cols}]`);
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) throw new Error(`${what}: weight [${Math.floor(i / cols)}, ${i % cols}] is ${w[i]}`);
  if (rule.kind === 'rank' && rule.rank > Math.min(rows, cols)) chooseRank([], rows, cols, rule, what);
  const d = svd(transform.apply(w, rows, cols), rows, cols);
  const choice = chooseRank(d.s, rows, cols, rule, what);
  if (!choice.reduces) return null;
  const { a, b } = truncatedFactors(d, choice.rank);
  let total = 0;
  let dropped = 0;
  for (let i = 0; i < d.s.length; i++) {
    total += d.s[i]! ** 2;
    if (i >= choice.rank) dropped += d.s[i]! ** 2;
  }
  return { a: transform.invert(a, rows, choice.rank), b, rank: choice.rank, sigma: d.s, relativeError: total > 0 ? Math.sqrt(dropped / total) : 0 };
}
