import { describe, expect, it } from 'vitest';
import { diagonalPruneError, globalMagnitudeMasks, inputNorms, inputNormSpread, magnitudeMask, nmMask, prunedCount, sparsityTarget, unstructuredMask, wandaMask } from '../../src';
import { seededUniform } from '../mlp-fixture';

/** Obviously-correct reference: sort (score, index) pairs and prune the first k. */
function slowPrune(score: ArrayLike<number>, idx: number[], k: number, mask: Uint8Array): void {
  const order = [...idx].sort((a, b) => score[a]! - score[b]! || a - b);
  for (const i of order.slice(0, k)) mask[i] = 0;
}

describe('sparsity masks', () => {
  const rows = 24, cols = 10;
  const w = seededUniform(rows * cols, 3);
  // Ties: several equal magnitudes, so the tie rule matters.
  for (let i = 0; i < 12; i++) w[i * 7] = 0.25;

  it('per-layer magnitude prunes exactly round(s * size), the smallest |w|, as the slow reference does', () => {
    for (const s of [0.1, 0.5, 0.73]) {
      const mask = magnitudeMask(w, rows, cols, sparsityTarget({ sparsity: s }, 't'));
      const ref = new Uint8Array(rows * cols).fill(1);
      slowPrune(Array.from(w, Math.abs), [...Array(rows * cols).keys()], Math.round(s * rows * cols), ref);
      expect(prunedCount(mask)).toBe(Math.round(s * rows * cols));
      expect(Array.from(mask)).toEqual(Array.from(ref));
    }
  });

  it('Wanda compares within each output column with |W| * ||X_j||', () => {
    const gram = new Float32Array(rows * rows);
    const norms = seededUniform(rows, 9).map((v) => 0.1 + Math.abs(v) * 3);
    for (let j = 0; j < rows; j++) gram[j * rows + j] = norms[j]! ** 2;
    const got = wandaMask(w, rows, cols, inputNorms(Float32Array.from({ length: rows }, (_, j) => gram[j * rows + j]!)), sparsityTarget({ sparsity: 0.5 }, 't'));
    const score = Array.from(w, (v, i) => Math.abs(v) * Math.fround(Math.sqrt(Math.fround(norms[Math.floor(i / cols)]! ** 2))));
    const ref = new Uint8Array(rows * cols).fill(1);
    for (let c = 0; c < cols; c++) slowPrune(score, [...Array(rows).keys()].map((r) => r * cols + c), rows / 2, ref);
    expect(Array.from(got)).toEqual(Array.from(ref));
    for (let c = 0; c < cols; c++) {
      let z = 0;
      for (let r = 0; r < rows; r++) z += 1 - got[r * cols + c]!;
      expect(z).toBe(rows / 2);
    }
  });

  it('N:M keeps exactly N of every M consecutive inputs in every output column', () => {
    for (const [n, m] of [[2, 4], [4, 8], [1, 4]] as const) {
      const mask = nmMask(Float32Array.from(w, Math.abs), rows, cols, n, m);
      for (let c = 0; c < cols; c++) {
        for (let r0 = 0; r0 < rows; r0 += m) {
          const kept = [...Array(m).keys()].filter((i) => mask[(r0 + i) * cols + c] === 1);
          expect(kept.length).toBe(n);
          // The kept ones are the largest of the group.
          const mags = [...Array(m).keys()].map((i) => Math.abs(w[(r0 + i) * cols + c]!));
          const minKept = Math.min(...kept.map((i) => mags[i]!));
          const maxPruned = Math.max(...[...Array(m).keys()].filter((i) => !kept.includes(i)).map((i) => mags[i]!));
          expect(minKept).toBeGreaterThanOrEqual(maxPruned);
        }
      }
    }
  });

  it('global magnitude uses one threshold over all layers', () => {
    const a = seededUniform(100, 1, 1);
    const b = seededUniform(50, 2, 0.1); // a small-magnitude layer loses most of its weights
    const [ma, mb] = globalMagnitudeMasks([a, b], 0.4);
    expect(prunedCount(ma!) + prunedCount(mb!)).toBe(60);
    expect(prunedCount(mb!)).toBeGreaterThan(prunedCount(ma!));
    const all = [...Array.from(a, Math.abs), ...Array.from(b, Math.abs)];
    const ref = new Uint8Array(150).fill(1);
    slowPrune(all, [...all.keys()], 60, ref);
    expect([...ma!, ...mb!]).toEqual(Array.from(ref));
  });

  it('refuses impossible targets with the reason', () => {
    expect(() => sparsityTarget({ sparsity: 1 }, 'prune.magnitude')).toThrow(/sparsity must be in \(0, 1\); 1 would remove every weight/);
    expect(() => sparsityTarget({ sparsity: 0 }, 'prune.magnitude')).toThrow(/removes nothing/);
    expect(() => sparsityTarget({ pattern: '4:4' }, 'prune.wanda')).toThrow(/1 <= N < M/);
    expect(() => sparsityTarget({ pattern: '2-4' }, 'prune.wanda')).toThrow(/look like "2:4"/);
    expect(() => nmMask(new Float32Array(6 * 2), 6, 2, 2, 4, 'prune.wanda layer x')).toThrow(/prune.wanda layer x: 2:4 needs the input size to be a multiple of 4, but it is 6/);
    const nan = new Float32Array(8).fill(1);
    nan[5] = NaN;
    expect(() => unstructuredMask(nan, 4, 2, 0.5, 'layer', 'L')).toThrow(/L: score of weight \[2, 1\] is NaN/);
  });

  it("Wanda's input-norm spread: percentiles by nearest rank", () => {
    // 1..10 shuffled: p10 = 1, p90 = 9, median = 5, max = 10.
    expect(inputNormSpread([7, 3, 10, 1, 5, 9, 2, 8, 4, 6])).toEqual({ p90OverP10: 9, maxOverMedian: 2 });
    expect(inputNormSpread([2, 2, 2])).toEqual({ p90OverP10: 1, maxOverMedian: 1 });
    expect(() => inputNormSpread([])).toThrow(/no input norms/);
  });
});

describe('Wanda against the diagonal output error', () => {
  const rows = 6, cols = 3, tokens = 12;
  const w = seededUniform(rows * cols, 21);
  // Each token carries one input feature, so X's columns are orthogonal and X^T X is diagonal.
  const x = new Float32Array(tokens * rows);
  for (let t = 0; t < tokens; t++) x[t * rows + (t % rows)] = 0.5 + 3 * Math.abs(seededUniform(tokens, 5)[t]!);
  const sumSq = Array.from({ length: rows }, (_, j) => Array.from({ length: tokens }, (_, t) => x[t * rows + j]! ** 2).reduce((a, b) => a + b, 0));

  /** ||X (W - W masked)||_F^2 by explicit products. */
  function outputError(mask: Uint8Array): number {
    let e = 0;
    for (let t = 0; t < tokens; t++) for (let c = 0; c < cols; c++) {
      let y = 0;
      for (let r = 0; r < rows; r++) if (!mask[r * cols + c]) y += x[t * rows + r]! * w[r * cols + c]!;
      e += y * y;
    }
    return e;
  }

  it('equals the explicit output error when X^T X is diagonal', () => {
    const mask = magnitudeMask(w, rows, cols, sparsityTarget({ sparsity: 0.5 }, 't'));
    expect(diagonalPruneError(w, rows, cols, mask, sumSq)).toBeCloseTo(outputError(mask), 4);
  });

  it("Wanda's mask is the per-output minimum of that error (every 3-of-6 choice per column tried)", () => {
    const mask = wandaMask(w, rows, cols, inputNorms(Float32Array.from(sumSq)), sparsityTarget({ sparsity: 0.5 }, 't'));
    let best = 0;
    for (let c = 0; c < cols; c++) {
      let min = Infinity;
      for (let bits = 0; bits < 1 << rows; bits++) {
        if ([...Array(rows).keys()].filter((r) => bits & (1 << r)).length !== rows / 2) continue;
        let e = 0;
        for (let r = 0; r < rows; r++) if (bits & (1 << r)) e += w[r * cols + c]! ** 2 * sumSq[r]!;
        min = Math.min(min, e);
      }
      best += min;
    }
    expect(diagonalPruneError(w, rows, cols, mask, sumSq)).toBeCloseTo(best, 5);
    const magnitude = magnitudeMask(w, rows, cols, sparsityTarget({ sparsity: 0.5 }, 't'));
    expect(diagonalPruneError(w, rows, cols, magnitude, sumSq)).toBeGreaterThan(best);
  });

  it('Wanda is unchanged when an input channel is scaled up and its weight row down (the same function); magnitude is not', () => {
    const norms = Float32Array.from({ length: rows }, () => 1);
    const scaled = Float32Array.from(w);
    const scaledNorms = Float32Array.from(norms);
    scaledNorms[2] = 8;
    for (let c = 0; c < cols; c++) scaled[2 * cols + c] = w[2 * cols + c]! / 8;
    const t = sparsityTarget({ sparsity: 0.5 }, 't');
    expect(Array.from(wandaMask(scaled, rows, cols, scaledNorms, t))).toEqual(Array.from(wandaMask(w, rows, cols, norms, t)));
    expect(Array.from(magnitudeMask(scaled, rows, cols, t))).not.toEqual(Array.from(magnitudeMask(w, rows, cols, t)));
  });

  it('refuses mismatched sizes', () => {
    expect(() => diagonalPruneError(w, rows, cols, new Uint8Array(rows * cols), [1, 2])).toThrow(/needs 18 weights and mask entries and 6 input sums/);
  });
});
