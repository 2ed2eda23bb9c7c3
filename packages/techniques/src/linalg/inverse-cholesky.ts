/**
 * The upper Cholesky factor of an inverse: U upper triangular with H^-1 = U^T U, which is
 * what GPTQ (and SparseGPT) read the inverse Hessian through (Frantar et al. 2022, §4
 * "Step 3: Cholesky reformulation"). With J the order-reversing permutation and
 * L = chol(J H J) lower triangular, U = J L^-1 J. L and L^-1 are computed together by
 * the blocked recursion chol([A, .; B, C]) (Golub & Van Loan, Matrix Computations, §4.2.8):
 * L11 = chol(A), L21 = B L11^-T, L22 = chol(C - L21 L21^T), (L^-1)21 = -L22^-1 L21 L11^-1,
 * whose products run in ORT (the first three in one session run per level); blocks up to
 * BASE stay in float64 JS.
 */
import { attr, gemm, GraphBuilder, runGraph, type Model } from '@distillery/onnx';
import { choleskyLower, lowerInverse, NotPositiveDefiniteError, reverseOrder } from './cholesky';

/** Below this size a JS float64 factorization is cheaper than calling ORT. */
const BASE = 64;

/** L^-1 of L = chol(K) for a small K, in float64 JS; pivots are reported offset into the whole matrix. */
function cholInvSmall(k: Float32Array, n: number, offset: number): Float32Array {
  try {
    return new Float32Array(lowerInverse(choleskyLower(new Float64Array(k), n, 'inverseCholeskyUpper'), n));
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(offset + e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
}

let splitModel: Model | undefined;

/**
 * One graph for every size: from B, C and L11^-1, L21 = B L11^-T, the Schur complement
 * S = C - L21 L21^T and T = L21 L11^-1, so a level costs one session run instead of three.
 */
function split(): Model {
  if (!splitModel) {
    const b = new GraphBuilder('cholesky-split');
    const k21 = b.input('k21', 'float32', ['n2', 'n1']);
    const k22 = b.input('k22', 'float32', ['n2', 'n2']);
    const li11 = b.input('li11', 'float32', ['n1', 'n1']);
    const l21 = b.op('Gemm', [k21, li11], { transB: attr.int(1) }, { name: 'l21', output: 'l21' });
    const schur = b.op('Gemm', [l21, l21, k22], { transB: attr.int(1), alpha: attr.float(-1), beta: attr.float(1) }, { name: 'schur', output: 'schur' });
    const t = b.op('MatMul', [l21, li11], {}, { name: 't', output: 't' });
    b.output(schur, 'float32', ['n2', 'n2']);
    b.output(t, 'float32', ['n2', 'n1']);
    splitModel = b.toModel();
  }
  return splitModel;
}

/** Rows [r0, r1) x columns [c0, c1) of a row-major [*, n] matrix, copied. */
function block(m: Float32Array, n: number, r0: number, r1: number, c0: number, c1: number): Float32Array {
  const cols = c1 - c0;
  const out = new Float32Array((r1 - r0) * cols);
  for (let r = r0; r < r1; r++) out.set(m.subarray(r * n + c0, r * n + c1), (r - r0) * cols);
  return out;
}

/** L^-1 (row-major [n, n]) of L = chol(K) for symmetric positive definite K. */
async function cholInv(k: Float32Array, n: number, offset: number): Promise<Float32Array> {
  if (n <= BASE) return cholInvSmall(k, n, offset);
  const n1 = Math.ceil(n / 2 / 32) * 32; // multiples of 32 keep ORT's kernels on aligned tiles
  const n2 = n - n1;
  const li11 = await cholInv(block(k, n, 0, n1, 0, n1), n1, offset);
  const out = await runGraph(split(), {
    k21: { dtype: 'float32', dims: [n2, n1], data: block(k, n, n1, n, 0, n1) },
    k22: { dtype: 'float32', dims: [n2, n2], data: block(k, n, n1, n, n1, n) },
    li11: { dtype: 'float32', dims: [n1, n1], data: li11 },
  });
  const li22 = await cholInv(out.schur!.data as Float32Array, n2, offset + n1);
  const li21 = (await gemm({ data: li22, rows: n2, cols: n2 }, { data: out.t!.data as Float32Array, rows: n2, cols: n1 }, undefined, { alpha: -1 })).data;
  const inv = new Float32Array(n * n);
  for (let r = 0; r < n1; r++) inv.set(li11.subarray(r * n1, r * n1 + n1), r * n);
  for (let r = 0; r < n2; r++) {
    inv.set(li21.subarray(r * n1, r * n1 + n1), (n1 + r) * n);
    inv.set(li22.subarray(r * n2, r * n2 + n2), (n1 + r) * n + n1);
  }
  return inv;
}

/** U (row-major [n, n], upper triangular) with H^-1 = U^T U; throws NotPositiveDefiniteError. */
export async function inverseCholeskyUpper(h: ArrayLike<number>, n: number): Promise<Float32Array> {
  if (h.length !== n * n) throw new Error(`inverseCholeskyUpper: ${h.length} values for a [${n}, ${n}] matrix`);
  const reversed = reverseOrder(h, n, new Float32Array(n * n));
  let linv: Float32Array;
  try {
    linv = await cholInv(reversed, n, 0);
  } catch (e) {
    // Report the pivot in H's own order.
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(n - 1 - e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
  // L^-1 is lower triangular, so J L^-1 J is the upper factor.
  return reverseOrder(linv, n, new Float32Array(n * n));
}
