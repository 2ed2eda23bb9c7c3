import { describe, expect, it } from 'vitest';
import { svd, symmetricEigen, truncatedFactors } from '../../src';
import { matmulF64 as matmul, seededUniform } from '../mlp-fixture';

const frob = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

describe('symmetric eigendecomposition', () => {
  it('A Q = Q Lambda with orthonormal Q, eigenvalues sorted, on random and degenerate matrices', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [7, 3], [40, 4]] as const) {
      const r = seededUniform(n * n, seed);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = r[i * n + j]! + r[j * n + i]!;
      // A repeated eigenvalue block: diag entries pushed apart by a constant keep it symmetric.
      const { values, vectors } = symmetricEigen(a, n);
      const aq = matmul(a, vectors, n, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(aq[i * n + j]).toBeCloseTo(vectors[i * n + j]! * values[j]!, 9);
      const qtq = matmul(Array.from({ length: n * n }, (_, k) => vectors[(k % n) * n + Math.floor(k / n)]!), vectors, n, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(qtq[i * n + j]).toBeCloseTo(i === j ? 1 : 0, 10);
      for (let i = 1; i < n; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1]!);
    }
    const ident = symmetricEigen([2, 0, 0, 0, 2, 0, 0, 0, 2], 3);
    expect(Array.from(ident.values)).toEqual([2, 2, 2]);
  });
});

describe('SVD', () => {
  for (const [m, n] of [[30, 12], [12, 30], [20, 20]] as const) {
    it(`[${m}, ${n}]: Eckart-Young: ||W - W_k||_F equals the norm of the discarded singular values`, () => {
      const w = seededUniform(m * n, m * 100 + n);
      const d = svd(w, m, n);
      const r = Math.min(m, n);
      expect(frob(d.s)).toBeCloseTo(frob(w), 9);
      for (const k of [1, 5, r - 1, r]) {
        const { a, b } = truncatedFactors(d, k);
        const wk = matmul(a, b, m, k, n);
        const err = frob(Array.from(w, (v, i) => v - wk[i]!));
        const discarded = frob(d.s.slice(k));
        expect(Math.abs(err - discarded)).toBeLessThan(1e-5 * frob(w));
      }
    });
  }

  it('refuses a rank above min(m, n)', () => {
    const d = svd(seededUniform(6 * 4, 1), 6, 4);
    expect(() => truncatedFactors(d, 5)).toThrow(/rank 5 is outside 1..4 \(min\(m, n\) of a \[6, 4\] matrix\)/);
  });
});
