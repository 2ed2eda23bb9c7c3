/**
 * The q/k row permutation against a slow reference of both rotary conventions (Su et al. 2021,
 * RoFormer eq. 34): rotating adjacent pairs of W x equals rotating half-split pairs of P(W) x,
 * up to the same permutation of the output.
 */
import { describe, expect, it } from 'vitest';
import { halvesRow, halvesToInterleaved, interleavedToHalves } from '../src/index';

function rope(q: number[], pair: (i: number) => [number, number], headDim: number, pos: number): number[] {
  const out = q.slice();
  for (let h = 0; h < q.length / headDim; h++) {
    for (let i = 0; i < headDim / 2; i++) {
      const angle = pos * 10000 ** (-(2 * i) / headDim);
      const [a, b] = pair(i).map((k) => h * headDim + k) as [number, number];
      out[a] = q[a]! * Math.cos(angle) - q[b]! * Math.sin(angle);
      out[b] = q[b]! * Math.cos(angle) + q[a]! * Math.sin(angle);
    }
  }
  return out;
}

const matVec = (w: Float32Array, rows: number, x: number[]) => Array.from({ length: rows }, (_, r) => x.reduce((s, v, c) => s + w[r * x.length + c]! * v, 0));

describe('rotary layout', () => {
  const nHeads = 3;
  const headDim = 8;
  const cols = 5;
  const rows = nHeads * headDim;
  const w = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7) + 0.1 * (i % 7));
  const x = Array.from({ length: cols }, (_, i) => Math.cos(i * 0.9));

  it('moves each head so that rotate_half on the permuted weights equals adjacent-pair rotation', () => {
    const half = headDim / 2;
    for (const pos of [0, 1, 7]) {
      const interleaved = rope(matVec(w, rows, x), (i) => [2 * i, 2 * i + 1], headDim, pos);
      const halves = rope(matVec(interleavedToHalves(w, nHeads, headDim, cols), rows, x), (i) => [i, i + half], headDim, pos);
      for (let r = 0; r < rows; r++) expect(halves[halvesRow(r, headDim)]).toBeCloseTo(interleaved[r]!, 5);
    }
  });

  it('is a permutation whose inverse restores the weights', () => {
    expect(new Set(Array.from({ length: rows }, (_, r) => halvesRow(r, headDim))).size).toBe(rows);
    expect(halvesRow(1, headDim)).toBe(4);
    expect(halvesRow(headDim + 2, headDim)).toBe(headDim + 1);
    expect(Array.from(halvesToInterleaved(interleavedToHalves(w, nHeads, headDim, cols), nHeads, headDim, cols))).toEqual(Array.from(w));
    expect(() => interleavedToHalves(w, nHeads, headDim, cols + 1)).toThrow('rotary permutation: 120 values, expected 3 x 8 x 6');
  });
});
