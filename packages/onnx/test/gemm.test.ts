import { describe, expect, it } from 'vitest';
import { gemm, type Matrix } from '../src/index';

/** Slow reference: alpha * op(A) op(B) + beta * C in float64, entry by entry. */
function slowGemm(a: Matrix, b: Matrix, c: Matrix | undefined, transA: boolean, alpha: number, beta: number): Float64Array {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const out = new Float64Array(m * b.cols);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < b.cols; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += (transA ? a.data[t * a.cols + i]! : a.data[i * a.cols + t]!) * b.data[t * b.cols + j]!;
      out[i * b.cols + j] = alpha * s + (c ? beta * c.data[i * b.cols + j]! : 0);
    }
  return out;
}

const matrix = (rows: number, cols: number, seed: number): Matrix => ({ rows, cols, data: Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 7.1 + i * 1.3)) });

describe('gemm', () => {
  it('writes alpha op(A) B + beta C into a preallocated array', async () => {
    const a = matrix(5, 3, 1);
    const b = matrix(5, 4, 2);
    const c = matrix(3, 4, 3);
    const out = new Float32Array(12);
    const y = await gemm(a, b, c, { transA: true, alpha: -1, beta: 0.5, out });
    expect(y.data).toBe(out);
    const ref = slowGemm(a, b, c, true, -1, 0.5);
    for (let i = 0; i < 12; i++) expect(out[i]).toBeCloseTo(ref[i]!, 5);
  });

  it('updates C in place when out is C itself, also inside a larger array', async () => {
    const a = matrix(6, 2, 4);
    const b = matrix(6, 5, 5);
    const whole = new Float32Array(30).fill(9);
    const view = whole.subarray(10, 20);
    view.set(matrix(2, 5, 6).data);
    const ref = slowGemm(a, b, { rows: 2, cols: 5, data: view.slice() }, true, -1, 1);
    await gemm(a, b, { rows: 2, cols: 5, data: view }, { transA: true, alpha: -1, out: view });
    for (let i = 0; i < 10; i++) expect(view[i]).toBeCloseTo(ref[i]!, 5);
    // Values around the view are untouched.
    expect([...whole.subarray(0, 10), ...whole.subarray(20)]).toEqual(new Array(20).fill(9));
  });

  it('an empty inner dimension gives beta C in out', async () => {
    const out = new Float32Array(4).fill(7);
    await gemm({ rows: 0, cols: 2, data: new Float32Array(0) }, { rows: 0, cols: 2, data: new Float32Array(0) }, { rows: 2, cols: 2, data: Float32Array.of(1, 2, 3, 4) }, { transA: true, beta: 2, out });
    expect([...out]).toEqual([2, 4, 6, 8]);
  });
});
