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

/** A square block of a row-major matrix: rows and columns [at, at + n) of `data` with row stride `ld`. */
interface Square {
  data: Float32Array;
  ld: number;
  at: number;
  n: number;
}

/** Row r, columns [c0, c1) of a square block. */
const rowOf = (m: Square, r: number, c0: number, c1: number) => m.data.subarray((m.at + r) * m.ld + m.at + c0, (m.at + r) * m.ld + m.at + c1);

/**
 * Scratch arrays by length, reused across levels and calls: each level's copies and products
 * are megabytes, and a fresh array costs a page fault per 4 KiB on first touch. An array is
 * held by one caller between take and give, so concurrent calls never share one.
 */
const pool = new Map<number, Float32Array[]>();
let pooledBytes = 0;
const POOL_BYTES = 32 << 20;

function take(length: number): Float32Array {
  const a = pool.get(length)?.pop();
  if (!a) return new Float32Array(length);
  pooledBytes -= a.byteLength;
  return a;
}

function give(...arrays: Float32Array[]): void {
  for (const a of arrays) {
    if (pooledBytes + a.byteLength > POOL_BYTES) continue;
    pooledBytes += a.byteLength;
    const free = pool.get(a.length);
    if (free) free.push(a);
    else pool.set(a.length, [a]);
  }
}

/** Rows [r0, r1) x columns [c0, c1) of a square block, copied contiguous (into a scratch array). */
function block(m: Square, r0: number, r1: number, c0: number, c1: number): Float32Array {
  const cols = c1 - c0;
  const out = take((r1 - r0) * cols);
  for (let r = r0; r < r1; r++) out.set(rowOf(m, r, c0, c1), (r - r0) * cols);
  return out;
}

/** Writes the row-major [rows, cols] matrix `src` into `dst` at (r0, c0). */
function put(dst: Square, src: Float32Array, rows: number, cols: number, r0: number, c0: number): void {
  for (let r = 0; r < rows; r++) dst.data.set(src.subarray(r * cols, (r + 1) * cols), (dst.at + r0 + r) * dst.ld + dst.at + c0);
}

/** L^-1 of L = chol(K) for a small K, in float64 JS, into `out`; pivots are reported offset into the whole matrix. */
function cholInvSmall(k: Square, out: Square, offset: number): void {
  const n = k.n;
  const k64 = new Float64Array(n * n);
  for (let r = 0; r < n; r++) k64.set(rowOf(k, r, 0, n), r * n);
  let linv: Float64Array;
  try {
    linv = lowerInverse(choleskyLower(k64, n, 'inverseCholeskyUpper'), n);
  } catch (e) {
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(offset + e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
  // Whole rows, zeros above the diagonal included: `out` may be K's own memory.
  for (let r = 0; r < n; r++) out.data.set(linv.subarray(r * n, r * n + n), (out.at + r) * out.ld + out.at);
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

/**
 * L^-1 of L = chol(K) for symmetric positive definite K, written into `out` (same size as
 * K, zeros above the diagonal). `out` may be K itself: each block of K is read before the
 * same block of `out` is written.
 */
async function cholInv(k: Square, out: Square, offset: number): Promise<void> {
  const n = k.n;
  if (n <= BASE) return cholInvSmall(k, out, offset);
  const n1 = Math.ceil(n / 2 / 32) * 32; // multiples of 32 keep ORT's kernels on aligned tiles
  const n2 = n - n1;
  await cholInv({ ...k, n: n1 }, { ...out, n: n1 }, offset);
  const li11 = block(out, 0, n1, 0, n1);
  const k21 = block(k, n1, n, 0, n1);
  const k22 = block(k, n1, n, n1, n);
  const schur = take(n2 * n2);
  const t = take(n2 * n1);
  await runGraph(
    split(),
    { k21: { dtype: 'float32', dims: [n2, n1], data: k21 }, k22: { dtype: 'float32', dims: [n2, n2], data: k22 }, li11: { dtype: 'float32', dims: [n1, n1], data: li11 } },
    { into: { schur: { dtype: 'float32', dims: [n2, n2], data: schur }, t: { dtype: 'float32', dims: [n2, n1], data: t } } },
  );
  give(li11, k21, k22);
  // L22^-1 lands in place; a contiguous copy of it feeds the last product.
  await cholInv({ data: schur, ld: n2, at: 0, n: n2 }, { data: out.data, ld: out.ld, at: out.at + n1, n: n2 }, offset + n1);
  give(schur);
  const li22 = block(out, n1, n, n1, n);
  const li21 = take(n2 * n1);
  await gemm({ data: li22, rows: n2, cols: n2 }, { data: t, rows: n2, cols: n1 }, undefined, { alpha: -1, out: li21 });
  put(out, li21, n2, n1, n1, 0);
  give(li22, t, li21);
  for (let r = 0; r < n1; r++) out.data.fill(0, (out.at + r) * out.ld + out.at + n1, (out.at + r) * out.ld + out.at + n);
}

/**
 * U (row-major [n, n], upper triangular) with H^-1 = U^T U; throws NotPositiveDefiniteError.
 * With `consume`, a float32 `h` the caller no longer needs is overwritten instead of copied.
 */
export async function inverseCholeskyUpper(h: ArrayLike<number>, n: number, opts: { consume?: boolean } = {}): Promise<Float32Array> {
  if (h.length !== n * n) throw new Error(`inverseCholeskyUpper: ${h.length} values for a [${n}, ${n}] matrix`);
  // J H J is the flat array reversed (see reverseOrder).
  const reversed = opts.consume && h instanceof Float32Array ? h.reverse() : reverseOrder(h, n, new Float32Array(n * n));
  const linv = reversed; // L^-1 overwrites J H J as it is computed
  try {
    await cholInv({ data: reversed, ld: n, at: 0, n }, { data: linv, ld: n, at: 0, n }, 0);
  } catch (e) {
    // Report the pivot in H's own order.
    if (e instanceof NotPositiveDefiniteError) throw new NotPositiveDefiniteError(n - 1 - e.index, e.pivot, 'inverseCholeskyUpper');
    throw e;
  }
  // L^-1 is lower triangular, so J L^-1 J (the flat array reversed, see reverseOrder) is the upper factor.
  return linv.reverse();
}
