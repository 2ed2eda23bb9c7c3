import { describe, expect, it } from 'vitest';
import { inverseUpperCholesky, maskFor, prunedCount, sparseGpt, sparsityTarget, type SparsityTarget } from '../../src';
import { matmulF64, seededUniform } from '../mlp-fixture';

/** Explicit inverse of a small SPD matrix by Gauss-Jordan elimination (float64). */
function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const p = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= p;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return m.map((row) => row.slice(n));
}

/**
 * Slow reference of the same algorithm without Cholesky or lazy batching: for each input
 * j in order, the inverse Hessian of the inputs not yet visited is recomputed from scratch,
 * each pruned weight w is removed by the OBS update delta = -w / [H_F^-1]_jj * H_F^-1[:, j],
 * and masks are chosen at block starts from the current weights by w^2 / [H_F^-1]_jj.
 */
function slowSparseGpt(w: Float32Array, rows: number, cols: number, gram: Float32Array, target: SparsityTarget, blockSize: number, damp: number): Float64Array {
  const W = Float64Array.from(w);
  const H = Array.from({ length: rows }, (_, i) => Array.from({ length: rows }, (_, j) => gram[i * rows + j]!));
  const mean = H.reduce((s, r, i) => s + r[i]!, 0) / rows;
  for (let i = 0; i < rows; i++) H[i]![i]! += damp * mean;
  const invFrom = (j: number) => inverse(H.slice(j).map((r) => r.slice(j)));
  const mask = new Uint8Array(rows * cols).fill(1);
  let pruned = 0;
  for (let j = 0; j < rows; j++) {
    const step = target.kind === 'nm' ? target.m : blockSize;
    if (j % step === 0) {
      const count = Math.min(step, rows - j);
      const score = new Float32Array(count * cols);
      for (let r = 0; r < count; r++) {
        const d = invFrom(j + r)[0]![0]!;
        for (let c = 0; c < cols; c++) score[r * cols + c] = W[(j + r) * cols + c]! ** 2 / d;
      }
      const t: SparsityTarget = target.kind === 'nm' ? target : { kind: 'unstructured', sparsity: (Math.round(target.sparsity * (j + count) * cols) - pruned) / (count * cols) };
      const bm = maskFor(score, count, cols, t, 'layer');
      mask.set(bm, j * cols);
      pruned += prunedCount(bm);
    }
    const hinv = invFrom(j);
    for (let c = 0; c < cols; c++) {
      if (mask[j * cols + c]) continue;
      const coef = W[j * cols + c]! / hinv[0]![0]!;
      for (let r = j; r < rows; r++) W[r * cols + c]! -= coef * hinv[r - j]![0]!;
    }
  }
  return W.map((v, k) => (mask[k] ? v : 0));
}

function calibrationGram(rows: number, tokens: number, seed: number): Float32Array {
  const x = seededUniform(tokens * rows, seed);
  // Correlated inputs make the OBS updates matter.
  for (let t = 0; t < tokens; t++) for (let j = 1; j < rows; j++) x[t * rows + j]! += 0.6 * x[t * rows + j - 1]!;
  const xt = Array.from({ length: rows * tokens }, (_, k) => x[(k % tokens) * rows + Math.floor(k / tokens)]!);
  return Float32Array.from(matmulF64(xt, x, rows, tokens, rows));
}

const reconstructionError = (w: Float32Array, wp: ArrayLike<number>, gram: Float32Array, rows: number, cols: number) => {
  // ||X (W - W')||_F^2 = sum_c d_c^T G d_c.
  let e = 0;
  for (let c = 0; c < cols; c++) for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
    e += (w[i * cols + c]! - wp[i * cols + c]!) * gram[i * rows + j]! * (w[j * cols + c]! - wp[j * cols + c]!);
  }
  return e;
};

describe('SparseGPT', () => {
  const rows = 16, cols = 6;
  const w = seededUniform(rows * cols, 11);
  const gram = calibrationGram(rows, 64, 5);

  it('U from inverseUpperCholesky is upper triangular with U^T U = H^-1', () => {
    const h = Float64Array.from(gram, (v, k) => v + (k % (rows + 1) === 0 ? 0.1 : 0));
    const u = inverseUpperCholesky(h, rows);
    const hinv = inverse(Array.from({ length: rows }, (_, i) => Array.from(h.slice(i * rows, (i + 1) * rows))));
    for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) {
      if (i > j) expect(u[i * rows + j]).toBe(0);
      let s = 0;
      for (let p = 0; p < rows; p++) s += u[p * rows + i]! * u[p * rows + j]!;
      expect(s).toBeCloseTo(hinv[i]![j]!, 8);
    }
  });

  for (const [label, target, blockSize] of [
    ['50% unstructured, blocks of 4 (lazy updates)', sparsityTarget({ sparsity: 0.5 }, 't'), 4],
    ['37% unstructured, one block', sparsityTarget({ sparsity: 0.37 }, 't'), 128],
    ['2:4', sparsityTarget({ pattern: '2:4' }, 't'), 8],
    ['4:8', sparsityTarget({ pattern: '4:8' }, 't'), 8],
  ] as const) {
    it(`${label}: equals the slow OBS reference and reaches the exact target`, () => {
      const got = sparseGpt(w, rows, cols, gram, { target, blockSize, dampening: 0.01 });
      const ref = slowSparseGpt(w, rows, cols, gram, target, blockSize, 0.01);
      for (let k = 0; k < ref.length; k++) expect(got.w[k]).toBeCloseTo(ref[k]!, 4);
      if (target.kind === 'unstructured') expect(prunedCount(got.mask)).toBe(Math.round(target.sparsity * rows * cols));
      else {
        for (let c = 0; c < cols; c++) for (let r0 = 0; r0 < rows; r0 += target.m) {
          let kept = 0;
          for (let i = 0; i < target.m; i++) kept += got.mask[(r0 + i) * cols + c]!;
          expect(kept).toBe(target.n);
        }
      }
      for (let k = 0; k < got.w.length; k++) if (!got.mask[k]) expect(got.w[k]).toBe(0);
    });
  }

  it('reconstructs the layer output better than zeroing the same weights', () => {
    const target = sparsityTarget({ sparsity: 0.5 }, 't');
    const got = sparseGpt(w, rows, cols, gram, { target, blockSize: 4, dampening: 0.01 });
    const zeroed = w.map((v, k) => (got.mask[k] ? v : 0));
    expect(reconstructionError(w, got.w, gram, rows, cols)).toBeLessThan(0.8 * reconstructionError(w, zeroed, gram, rows, cols));
  });

  it('zeroes inputs that never fired and names shape problems', () => {
    const g = Float32Array.from(gram);
    for (let j = 0; j < rows; j++) g[3 * rows + j] = g[j * rows + 3] = 0;
    const got = sparseGpt(w, rows, cols, g, { target: sparsityTarget({ sparsity: 0.25 }, 't'), blockSize: 8, dampening: 0.01 });
    expect(got.deadInputs).toBe(1);
    for (let c = 0; c < cols; c++) expect(got.w[3 * cols + c]).toBe(0);
    expect(() => sparseGpt(w, rows, cols, new Float32Array(4), { target: sparsityTarget({ sparsity: 0.5 }, 't'), blockSize: 8, dampening: 0.01 }, 'layer q')).toThrow(/layer q: Gram matrix has 4 values, expected 16x16/);
  });
});
