/**
 * SVD-LLM truncation-aware whitening (Wang et al. 2024, "SVD-LLM: Truncation-aware Singular
 * Value Decomposition for Large Language Model Compression", sec. 3.1): with the calibration
 * Gram matrix X^T X = L L^T (Cholesky), ||X (W - W')||_F = ||L^T (W - W')||_F, so truncating
 * the SVD of L^T W discards exactly the output error of each dropped singular value
 * (Theorem 3.2). Our W is [in, out] (y = x W), hence L^T on the left; A = L^-T U_k Sigma_k.
 */
import { choleskyLower, lowerInverse } from '../linalg/cholesky';
import type { InputTransform } from './factorize';

export function whiteningTransform(gram: Float32Array, n: number, dampening: number, what: string): InputTransform {
  if (gram.length !== n * n) throw new Error(`${what}: Gram matrix has ${gram.length} values, expected ${n}x${n}`);
  const g = Float64Array.from(gram);
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
