/**
 * The upper Cholesky factor of an inverse: U upper triangular with H^-1 = U^T U, which is
 * what GPTQ (and SparseGPT) read the inverse Hessian through (Frantar et al. 2022, §4
 * "Step 3: Cholesky reformulation"). With J the order-reversing permutation and
 * L = chol(J H J) lower triangular, U = J L^-1 J. L and L^-1 are computed together by
 * the blocked recursion chol([A, .; B, C]) (Golub & Van Loan, Matrix Computations, §4.2.8):
 * L11 = chol(A), L21 = B L11^-T, L22 = chol(C - L21 L21^T), (L^-1)21 = -L22^-1 L21 L11^-1,
 * whose products run in ORT; blocks up to BASE stay in float64 JS.
 */
import { gemm, type Matrix } from '@distillery/onnx';
import { choleskyLower, lowerInverse, NotPositiveDefiniteError, reverseOrder } from './cholesky';

/** Below this size a JS float64 factorization is cheaper than calling ORT. */
const BASE = 128;

/** L^-1 of L = chol(K) for a small K, in float64 JS; pivots are reported offset into the whole matrix. */
function cholInvSmall(k: Float64Array, n: number, offset: number): Float64Array {
  try {
    return lowerInverse(choleskyLower(k, n, 'inverseCholeskyUpper'), n);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(offset + e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
}

function block(m: Matrix, r0: number, r1: number, c0: number, c1: number): Matrix {
  const rows = r1 - r0;
  const cols = c1 - c0;
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) data.set(m.data.subarray((r0 + r) * m.cols + c0, (r0 + r) * m.cols + c1), r * cols);
  return { data, rows, cols };
}

/** L^-1 of L = chol(K) for symmetric positive definite K. */
async function cholInv(k: Matrix, offset: number): Promise<Matrix> {
  const n = k.rows;
  if (n <= BASE) {
    const linv = cholInvSmall(Float64Array.from(k.data), n, offset);
    return { data: Float32Array.from(linv), rows: n, cols: n };
  }
  const n1 = Math.ceil(n / 2 / 32) * 32; // multiples of 32 keep ORT's kernels on aligned tiles
  const li11 = await cholInv(block(k, 0, n1, 0, n1), offset);
  // L21 = K21 L11^-T
  const l21 = await gemm(block(k, n1, n, 0, n1), li11, undefined, { transB: true });
  const schur = await gemm(l21, l21, block(k, n1, n, n1, n), { transB: true, alpha: -1, beta: 1 });
  const li22 = await cholInv(schur, offset + n1);
  const t = await gemm(l21, li11);
  const li21 = await gemm(li22, t, undefined, { alpha: -1 });
  const out = new Float32Array(n * n);
  for (let r = 0; r < n1; r++) out.set(li11.data.subarray(r * n1, r * n1 + n1), r * n);
  const n2 = n - n1;
  for (let r = 0; r < n2; r++) {
    out.set(li21.data.subarray(r * n1, r * n1 + n1), (n1 + r) * n);
    out.set(li22.data.subarray(r * n2, r * n2 + n2), (n1 + r) * n + n1);
  }
  return { data: out, rows: n, cols: n };
}

/** U (row-major [n, n], upper triangular) with H^-1 = U^T U; throws NotPositiveDefiniteError. */
export async function inverseCholeskyUpper(h: ArrayLike<number>, n: number): Promise<Float32Array> {
  if (h.length !== n * n) throw new Error(`inverseCholeskyUpper: ${h.length} values for a [${n}, ${n}] matrix`);
  const reversed = reverseOrder(h, n, new Float32Array(n * n));
  let linv: Matrix;
  try {
    linv = await cholInv({ data: reversed, rows: n, cols: n }, 0);
  } catch (e) {
    // Report the pivot in H's own order.
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(n - 1 - e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
  // L^-1 is lower triangular, so J L^-1 J is the upper factor.
  return reverseOrder(linv.data, n, new Float32Array(n * n));
}
