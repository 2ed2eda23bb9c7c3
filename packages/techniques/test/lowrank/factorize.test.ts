import { describe, expect, it } from 'vitest';
import { asvdTransform, chooseRank, factorize, identityTransform, svd, whiteningTransform } from '../../src';
import { matmulF64 as matmul, seededUniform } from '../mlp-fixture';

const frob = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

// Calibration activations with very unequal channel scales, as in LLMs.
const rows = 24, cols = 18, tokens = 200;
const x = seededUniform(tokens * rows, 21).map((v, i) => v * (1 + 8 * ((i % rows) % 5 === 0 ? 1 : 0)));
const xt = Array.from({ length: rows * tokens }, (_, k) => x[(k % tokens) * rows + Math.floor(k / tokens)]!);
const gram = Float32Array.from(matmul(xt, x, rows, tokens, rows));
const meanAbs = Float32Array.from({ length: rows }, (_, j) => Array.from({ length: tokens }, (_, t) => Math.abs(x[t * rows + j]!)).reduce((s, v) => s + v, 0) / tokens);
const w = seededUniform(rows * cols, 4);
const outputError = (a: Float32Array, b: Float32Array, k: number) => {
  const ab = matmul(a, b, rows, k, cols);
  return frob(matmul(x, Array.from(w, (v, i) => v - ab[i]!), tokens, rows, cols));
};

describe('low-rank factorization', () => {
  it('plain SVD: A B is the rank-k truncation and its error is the discarded spectrum', () => {
    const f = factorize(w, rows, cols, { kind: 'rank', rank: 5 }, identityTransform, 'L')!;
    const ab = matmul(f.a, f.b, rows, 5, cols);
    const s = svd(w, rows, cols).s;
    expect(frob(Array.from(w, (v, i) => v - ab[i]!))).toBeCloseTo(frob(s.slice(5)), 5);
    expect(f.relativeError).toBeCloseTo(frob(s.slice(5)) / frob(s), 6);
  });

  it('SVD-LLM: the output error ||X (W - A B)|| equals the discarded singular values of L^T W and beats plain SVD', () => {
    for (const k of [3, 8]) {
      const f = factorize(w, rows, cols, { kind: 'rank', rank: k }, whiteningTransform(gram, rows, 0, 'L'), 'L')!;
      expect(outputError(f.a, f.b, k)).toBeCloseTo(frob(f.sigma.slice(k)), 2);
      const plain = factorize(w, rows, cols, { kind: 'rank', rank: k }, identityTransform, 'L')!;
      expect(outputError(f.a, f.b, k)).toBeLessThan(outputError(plain.a, plain.b, k));
    }
  });

  it('ASVD: truncation is optimal in the scaled norm ||S (W - A B)|| and reduces output error against plain SVD', () => {
    const k = 6;
    const f = factorize(w, rows, cols, { kind: 'rank', rank: k }, asvdTransform(meanAbs, 1, 'L'), 'L')!;
    const ab = matmul(f.a, f.b, rows, k, cols);
    const scaled = Array.from(w, (v, i) => meanAbs[Math.floor(i / cols)]! * (v - ab[i]!));
    expect(frob(scaled)).toBeCloseTo(frob(f.sigma.slice(k)), 4);
    const plain = factorize(w, rows, cols, { kind: 'rank', rank: k }, identityTransform, 'L')!;
    expect(outputError(f.a, f.b, k)).toBeLessThan(outputError(plain.a, plain.b, k));
  });

  it('rank rules: energy, parameter share, and only where parameters shrink', () => {
    const s = [4, 2, 1, 1];
    expect(chooseRank(s, 10, 4, { kind: 'energy', energy: 0.9 }, 'L').rank).toBe(2); // (16+4)/22 = 0.91
    expect(chooseRank(s, 10, 4, { kind: 'energy', energy: 0.95 }, 'L').rank).toBe(3);
    expect(chooseRank(s, 100, 50, { kind: 'params', ratio: 0.5 }, 'L')).toEqual({ rank: 16, reduces: true }); // 16 * 150 <= 2500
    expect(chooseRank(s, 10, 4, { kind: 'rank', rank: 3 }, 'L')).toEqual({ rank: 3, reduces: false }); // 3 * 14 > 40
    expect(factorize(w, rows, cols, { kind: 'rank', rank: 12 }, identityTransform, 'L')).toBeNull(); // 12 * 42 > 432
  });

  it('refuses impossible targets naming the layer', () => {
    expect(() => factorize(w, rows, cols, { kind: 'rank', rank: 19 }, identityTransform, '/model/layers.0/mlp/up_proj/MatMul')).toThrow(
      /\/model\/layers.0\/mlp\/up_proj\/MatMul: rank 19 is above min\(in, out\) = 18 of this \[24, 18\] weight/,
    );
    const bad = Float32Array.from(w);
    bad[7] = NaN;
    expect(() => factorize(bad, rows, cols, { kind: 'rank', rank: 2 }, identityTransform, 'L')).toThrow(/L: weight \[0, 7\] is NaN/);
    expect(() => chooseRank(s4(), 10, 4, { kind: 'energy', energy: 1.5 }, 'L')).toThrow(/energy must be in \(0, 1\]/);
    expect(() => whiteningTransform(new Float32Array(rows * rows), rows, 0.01, 'L')).toThrow(/all zero/);
  });
});

function s4() {
  return [1, 1, 1, 1];
}
