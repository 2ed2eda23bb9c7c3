import { describe, expect, it } from 'vitest';
import { expandCodebooks, expandHashed, groupedKmeans, hashCode, hashedWeight, kmeans1d } from '../../src';
import { seededUniform } from '../mlp-fixture';

/** Slow reference Lloyd: linear scan for the nearest centroid (first on ties), same stopping rule. */
function slowLloyd(x: Float32Array, init: number[], iterations: number) {
  const c = [...init].sort((a, b) => a - b);
  let idx = new Array<number>(x.length).fill(-1);
  for (let it = 0; it <= iterations; it++) {
    const next = Array.from(x, (v) => {
      let best = 0;
      for (let j = 1; j < c.length; j++) if (Math.abs(v - c[j]!) < Math.abs(v - c[best]!)) best = j;
      return best;
    });
    const same = next.every((j, i) => j === idx[i]);
    idx = next;
    if (it === iterations || (it > 0 && same)) break;
    for (let j = 0; j < c.length; j++) {
      const members = Array.from(x).filter((_, i) => idx[i] === j);
      if (members.length) c[j] = members.reduce((s, v) => s + v, 0) / members.length;
    }
  }
  return { c, idx };
}

const mse = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;

describe('k-means weight sharing', () => {
  const x = seededUniform(500, 17).map((v) => v * v * v); // peaked around 0 like trained weights

  it('linear init: equals the slow reference Lloyd', () => {
    const got = kmeans1d(x, { k: 8, iterations: 15, init: 'linear', seed: 0 });
    let lo = Infinity, hi = -Infinity;
    for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const ref = slowLloyd(x, Array.from({ length: 8 }, (_, i) => lo + ((hi - lo) * i) / 7), 15);
    expect(Array.from(got.indices)).toEqual(ref.idx);
    ref.c.forEach((c, j) => expect(got.centroids[j]).toBeCloseTo(c, 6));
  });

  it('k-means++ is seeded, and more iterations never increase the error', () => {
    const a = kmeans1d(x, { k: 16, iterations: 10, init: 'kmeans++', seed: 3 });
    const b = kmeans1d(x, { k: 16, iterations: 10, init: 'kmeans++', seed: 3 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    let prev = Infinity;
    for (const iterations of [0, 1, 3, 10, 30]) {
      const cb = kmeans1d(x, { k: 16, iterations, init: 'kmeans++', seed: 3 });
      const e = mse(x, Array.from(cb.indices, (j) => cb.centroids[j]!));
      expect(e).toBeLessThanOrEqual(prev + 1e-12);
      prev = e;
    }
    // 16 clusters beat a 16-level uniform grid over the same range on peaked weights.
    let lo = Infinity, hi = -Infinity;
    for (const v of x) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    const step = (hi - lo) / 15;
    expect(prev).toBeLessThan(mse(x, Array.from(x, (v) => lo + Math.round((v - lo) / step) * step)));
  });

  it('per-group codebooks: each group of output columns has its own k values', () => {
    const rows = 20, cols = 10;
    const w = seededUniform(rows * cols, 5).map((v, i) => v * (1 + (i % cols))); // columns of growing scale
    const cb = groupedKmeans(w, rows, cols, 4, { k: 4, iterations: 20, init: 'linear', seed: 1 });
    expect(cb.groups).toBe(3);
    const expanded = expandCodebooks(cb, rows, cols, 4);
    for (let q = 0; q < 3; q++) {
      const values = new Set<number>();
      for (let r = 0; r < rows; r++) for (let c = q * 4; c < Math.min(cols, q * 4 + 4); c++) values.add(expanded[r * cols + c]!);
      expect(values.size).toBeLessThanOrEqual(4);
    }
    const perLayer = groupedKmeans(w, rows, cols, cols, { k: 4, iterations: 20, init: 'linear', seed: 1 });
    expect(mse(w, expanded)).toBeLessThan(mse(w, expandCodebooks(perLayer, rows, cols, 4)));
  });

  it('refuses bad settings naming the problem', () => {
    expect(() => kmeans1d(x, { k: 1, iterations: 3, init: 'linear', seed: 0 }, 'share.kmeans layer q')).toThrow(/share.kmeans layer q: k must be an integer in 2..256, got 1/);
    const bad = Float32Array.from(x);
    bad[4] = Infinity;
    expect(() => kmeans1d(bad, { k: 4, iterations: 3, init: 'linear', seed: 0 })).toThrow(/weight 4 is Infinity/);
  });
});

describe('HashedNets sharing', () => {
  it('bucket values are the signed mean of their weights, and the expansion reads them back', () => {
    const rows = 12, cols = 9, k = 10;
    const w = seededUniform(rows * cols, 8);
    const h = hashedWeight(w, rows, cols, k, 42);
    const sums = new Map<number, number[]>();
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const code = hashCode(i, j, k, 42);
      const b = code % k;
      sums.set(b, [...(sums.get(b) ?? []), (code >= k ? -1 : 1) * w[i * cols + j]!]);
    }
    for (let b = 0; b < k; b++) {
      const list = sums.get(b) ?? [];
      expect(h.values[b]).toBeCloseTo(list.length ? list.reduce((s, v) => s + v, 0) / list.length : 0, 6);
    }
    const e = expandHashed(h.table, rows, cols, 42);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const code = hashCode(i, j, k, 42);
      expect(e[i * cols + j]).toBe(code >= k ? -h.values[code % k]! : h.values[code]!);
    }
    expect(() => hashedWeight(w, rows, cols, rows * cols, 1, 'L')).toThrow(/L: 108 buckets for 108 weights/);
  });
});
