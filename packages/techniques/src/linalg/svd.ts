/**
 * Singular value decomposition of an [m, n] matrix through the eigendecomposition of its
 * Gram matrix on the small side (M^T M or M M^T = V Sigma^2 V^T, then U = M V Sigma^-1), in
 * float64. Squaring the matrix costs accuracy only in singular values below about 1e-8 of
 * the largest, which a truncation discards anyway; in exchange the expensive part is an
 * eigenproblem of size min(m, n) (symmetric-eigen.ts).
 */
import { symmetricEigen } from './symmetric-eigen';

export interface Svd {
  m: number;
  n: number;
  /** Singular values, largest first; min(m, n) of them. */
  s: Float64Array;
  /** [m, r] row-major, r = min(m, n): left singular vectors as columns. */
  u: Float64Array;
  /** [n, r] row-major: right singular vectors as columns. */
  v: Float64Array;
}

export function svd(a: ArrayLike<number>, m: number, n: number): Svd {
  if (a.length !== m * n) throw new Error(`svd: ${a.length} values for a [${m}, ${n}] matrix`);
  const transpose = m < n;
  // Work on B = A or A^T so that B is [p, r] with r <= p; B^T B is then the small Gram matrix.
  const [p, r] = transpose ? [n, m] : [m, n];
  const b = (i: number, j: number) => (transpose ? a[j * n + i]! : a[i * n + j]!);
  const B = new Float64Array(p * r);
  for (let i = 0; i < p; i++) for (let j = 0; j < r; j++) B[i * r + j] = b(i, j);
  const g = new Float64Array(r * r);
  for (let k = 0; k < p; k++) {
    const row = k * r;
    for (let i = 0; i < r; i++) {
      const bi = B[row + i]!;
      if (bi === 0) continue;
      const gi = i * r;
      for (let j = i; j < r; j++) g[gi + j]! += bi * B[row + j]!;
    }
  }
  for (let i = 0; i < r; i++) for (let j = 0; j < i; j++) g[i * r + j] = g[j * r + i]!;
  const { values, vectors } = symmetricEigen(g, r);
  const s = Float64Array.from(values, (x) => Math.sqrt(Math.max(0, x)));
  // Left vectors of B: B v_j / s_j (zero for a zero singular value).
  const left = new Float64Array(p * r);
  for (let i = 0; i < p; i++) {
    const out = i * r;
    for (let k = 0; k < r; k++) {
      const bik = B[out + k]!;
      if (bik === 0) continue;
      const vk = k * r;
      for (let j = 0; j < r; j++) left[out + j]! += bik * vectors[vk + j]!;
    }
    for (let j = 0; j < r; j++) left[out + j] = s[j] === 0 ? 0 : left[out + j]! / s[j]!;
  }
  return transpose ? { m, n, s, u: vectors, v: left } : { m, n, s, u: left, v: vectors };
}

/** Rank-k factors A [m, k] = U_k Sigma_k and B [k, n] = V_k^T, so A B is the best rank-k approximation (Eckart-Young). */
export function truncatedFactors(d: Svd, k: number): { a: Float32Array; b: Float32Array } {
  const r = Math.min(d.m, d.n);
  if (!Number.isInteger(k) || k < 1 || k > r) throw new Error(`rank ${k} is outside 1..${r} (min(m, n) of a [${d.m}, ${d.n}] matrix)`);
  const a = new Float32Array(d.m * k);
  const b = new Float32Array(k * d.n);
  for (let i = 0; i < d.m; i++) for (let j = 0; j < k; j++) a[i * k + j] = d.u[i * r + j]! * d.s[j]!;
  for (let j = 0; j < k; j++) for (let c = 0; c < d.n; c++) b[j * d.n + c] = d.v[c * r + j]!;
  return { a, b };
}
