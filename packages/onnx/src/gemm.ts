/**
 * General matrix products C' = alpha * op(A) op(B) + beta * C run by onnxruntime as one
 * Gemm node (ONNX Gemm semantics, op = optional transpose). Techniques whose inner loops
 * are matrix products (GPTQ's lazy block updates, blocked Cholesky) call this instead of
 * JS loops: ORT's MatMul is two orders of magnitude faster here (ARCHITECTURE.md).
 */
import { GraphBuilder } from './graph-builder';
import { attr, type Model } from './model';
import { runGraph } from './run-graph';

export interface Matrix {
  /** Row-major values. */
  data: Float32Array;
  rows: number;
  cols: number;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** Weight of C; only used when C is given. */
  beta?: number;
  /**
   * Write the result here (m * n values) instead of a new array; may be C's own array, for
   * an in-place update C -= A B (ORT's CPU Gemm copies C into Y before accumulating).
   */
  out?: Float32Array;
}

const models = new Map<string, Model>();

/** One graph per shape of the call (transposes, alpha, beta, with or without C); dims are symbolic so sessions are reused. */
function gemmModel(transA: boolean, transB: boolean, alpha: number, beta: number, withC: boolean): Model {
  const key = `${+transA}${+transB}${alpha}/${beta}/${+withC}`;
  let m = models.get(key);
  if (!m) {
    const b = new GraphBuilder('gemm');
    const a = b.input('a', 'float32', ['ar', 'ac']);
    const bb = b.input('b', 'float32', ['br', 'bc']);
    const inputs = [a, bb];
    if (withC) inputs.push(b.input('c', 'float32', ['m', 'n']));
    const attrs = { transA: attr.int(transA ? 1 : 0), transB: attr.int(transB ? 1 : 0), alpha: attr.float(alpha), beta: attr.float(beta) };
    const y = b.op('Gemm', inputs, attrs, { name: 'gemm', output: 'y' });
    b.output(y, 'float32', ['m', 'n']);
    m = b.toModel();
    models.set(key, m);
  }
  return m;
}

function check(x: Matrix, name: string): void {
  if (x.data.length !== x.rows * x.cols) throw new Error(`gemm: ${name} has ${x.data.length} values for a [${x.rows}, ${x.cols}] matrix`);
}

/** alpha * op(A) op(B) (+ beta * C) as a new row-major matrix. */
export async function gemm(a: Matrix, b: Matrix, c?: Matrix, opts: GemmOptions = {}): Promise<Matrix> {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 1;
  check(a, 'A');
  check(b, 'B');
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const kb = transB ? b.cols : b.rows;
  const n = transB ? b.rows : b.cols;
  if (k !== kb) throw new Error(`gemm: inner dimensions differ (op(A) is [${m}, ${k}], op(B) is [${kb}, ${n}])`);
  if (c) {
    check(c, 'C');
    if (c.rows !== m || c.cols !== n) throw new Error(`gemm: C is [${c.rows}, ${c.cols}], the product is [${m}, ${n}]`);
  }
  const out = opts.out;
  if (out && out.length !== m * n) throw new Error(`gemm: out has ${out.length} values for a [${m}, ${n}] product`);
  // Empty products are legal in the algorithms that call this (the last block has nothing after it).
  if (m === 0 || n === 0) return { data: out ?? new Float32Array(0), rows: m, cols: n };
  if (k === 0) {
    const data = out ?? new Float32Array(m * n);
    if (c) for (let i = 0; i < data.length; i++) data[i] = beta * c.data[i]!;
    else data.fill(0);
    return { data, rows: m, cols: n };
  }
  const feeds = {
    a: { dtype: 'float32' as const, dims: [a.rows, a.cols], data: a.data },
    b: { dtype: 'float32' as const, dims: [b.rows, b.cols], data: b.data },
    ...(c ? { c: { dtype: 'float32' as const, dims: [c.rows, c.cols], data: c.data } } : {}),
  };
  const into = out ? { y: { dtype: 'float32' as const, dims: [m, n], data: out } } : undefined;
  const y = await runGraph(gemmModel(transA, transB, alpha, beta, c !== undefined), feeds, { into });
  return { data: y.y!.data as Float32Array, rows: m, cols: n };
}
