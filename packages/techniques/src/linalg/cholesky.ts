/**
 * Cholesky factorization of a symmetric positive definite matrix, H = L L^T with L lower
 * triangular (Golub & Van Loan, Matrix Computations, 4th ed., Algorithm 4.2.1), in float64,
 * plus triangular inverses. Sizes here are a layer's input width (hundreds), where a plain
 * O(n^3/3) loop takes milliseconds.
 */

export class NotPositiveDefiniteError extends Error {
  override name = 'NotPositiveDefiniteError';
  constructor(
    readonly index: number,
    readonly pivot: number,
    what: string,
  ) {
    super(`${what}: matrix is not positive definite (pivot ${index} is ${pivot}); raise the dampening`);
  }
}

/** Lower L with a = L L^T; `a` is row-major [n, n] and is not modified. */
export function choleskyLower(a: Float64Array, n: number, what = 'cholesky'): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    const lj = j * n;
    for (let p = 0; p < j; p++) d -= l[lj + p]! * l[lj + p]!;
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, d, what);
    const ljj = Math.sqrt(d);
    l[lj + j] = ljj;
    // Two rows per pass share the loads of row j (each entry's sum keeps its own order).
    let i = j + 1;
    for (; i + 1 < n; i += 2) {
      const li = i * n;
      const lk = li + n;
      let s = a[li + j]!;
      let t = a[lk + j]!;
      for (let p = 0; p < j; p++) {
        const v = l[lj + p]!;
        s -= l[li + p]! * v;
        t -= l[lk + p]! * v;
      }
      l[li + j] = s / ljj;
      l[lk + j] = t / ljj;
    }
    for (; i < n; i++) {
      const li = i * n;
      let s = a[li + j]!;
      for (let p = 0; p < j; p++) s -= l[li + p]! * l[lj + p]!;
      l[li + j] = s / ljj;
    }
  }
  return l;
}

/**
 * Inverse of a lower-triangular [n, n] matrix (lower again), by forward substitution:
 * inv[i, c] = -Σ_{c<=p<i} l[i, p] inv[p, c] / l[i, i]. Row i is accumulated from rows p < i
 * in increasing p (the same summation order as one dot product per entry), so every inner
 * loop runs along a contiguous row.
 */
export function lowerInverse(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  const finish = (i: number) => {
    const ri = i * n;
    const d = l[ri + i]!;
    for (let c = 0; c < i; c++) inv[ri + c] = -inv[ri + c]! / d;
    inv[ri + i] = 1 / d;
  };
  // Rows i and i + 1 in one pass over rows p < i (sharing their loads); row i + 1 then takes row i.
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const ri = i * n;
    const rk = ri + n;
    for (let p = 0; p < i; p++) {
      const f = l[ri + p]!;
      const g = l[rk + p]!;
      const rp = p * n;
      for (let c = 0; c <= p; c++) {
        const v = inv[rp + c]!;
        inv[ri + c]! += f * v;
        inv[rk + c]! += g * v;
      }
    }
    finish(i);
    const g = l[rk + i]!;
    for (let c = 0; c <= i; c++) inv[rk + c]! += g * inv[ri + c]!;
    finish(i + 1);
  }
  if (i < n) {
    const ri = i * n;
    for (let p = 0; p < i; p++) {
      const f = l[ri + p]!;
      const rp = p * n;
      for (let c = 0; c <= p; c++) inv[ri + c]! += f * inv[rp + c]!;
    }
    finish(i);
  }
  return inv;
}

/**
 * Upper U with H^-1 = U^T U, the form SparseGPT and GPTQ read the inverse Hessian in.
 * With J the order reversal and J H J = L' L'^T: H^-1 = (J L'^-1 J)^T (J L'^-1 J), and
 * J L'^-1 J is upper triangular, so U needs one factorization and one triangular inverse.
 */
export function inverseUpperCholesky(h: Float64Array, n: number, what = 'cholesky'): Float64Array {
  const linv = lowerInverse(choleskyLower(reverseOrder(h, n, new Float64Array(n * n)), n, what), n);
  return reverseOrder(linv, n, new Float64Array(n * n));
}

/** J M J for the order-reversing permutation J: row and column order reversed, into `out`. */
export function reverseOrder<T extends Float32Array | Float64Array>(m: ArrayLike<number>, n: number, out: T): T {
  // Row-major, (n-1-i, n-1-j) is flat index n²-1-k of (i, j): J M J is the flat array reversed.
  const last = n * n - 1;
  for (let k = 0; k <= last; k++) out[k] = m[last - k]!;
  return out;
}
