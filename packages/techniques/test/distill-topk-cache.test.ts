import { describe, expect, it } from 'vitest';
import { createPrng } from '@distillery/nn';
import { logitsFromTopK, TopKCache, topKFromLogits } from '../src';

const V = 50;
const rows = 6;
const T = 2;

function logits(seed: number): Float32Array {
  const rng = createPrng(seed);
  return Float32Array.from({ length: rows * V }, () => 3 * rng.normal());
}

/** softmax(z / T) of one row, in float64: the slow reference. */
function softmaxRow(z: ArrayLike<number>, r: number, temperature: number): number[] {
  const row = Array.from({ length: V }, (_, j) => z[r * V + j]! / temperature);
  const max = Math.max(...row);
  const e = row.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('top-k teacher cache', () => {
  it('with topK = vocab the rebuilt targets equal the full distribution', () => {
    const z = logits(1);
    const rebuilt = logitsFromTopK(topKFromLogits(z, V, V, T), V, T);
    for (let r = 0; r < rows; r++) {
      const p = softmaxRow(z, r, T);
      const q = softmaxRow(rebuilt, r, T);
      for (let j = 0; j < V; j++) expect(Math.abs(p[j]! - q[j]!)).toBeLessThan(1e-6);
    }
  });

  it('keeps the k largest probabilities exactly and spreads the rest uniformly', () => {
    const z = logits(2);
    const k = 5;
    const top = topKFromLogits(z, V, k, T);
    const rebuilt = logitsFromTopK(top, V, T);
    for (let r = 0; r < rows; r++) {
      const p = softmaxRow(z, r, T);
      const order = p.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]);
      expect(Array.from(top.indices.subarray(r * k, (r + 1) * k))).toEqual(order.slice(0, k).map(([, j]) => j));
      const q = softmaxRow(rebuilt, r, T);
      const keptMass = order.slice(0, k).reduce((a, [v]) => a + v, 0);
      for (const [v, j] of order.slice(0, k)) expect(q[j]).toBeCloseTo(v, 6);
      for (const [, j] of order.slice(k)) expect(q[j]).toBeCloseTo((1 - keptMass) / (V - k), 6);
    }
  });

  it('round-trips batches through files on disk and removes them', async () => {
    const cache = await TopKCache.create();
    const top = topKFromLogits(logits(3), V, 7, T);
    await cache.write(12, top);
    const back = await cache.read(12);
    expect(back.rows).toBe(rows);
    expect(Array.from(back.logProbs)).toEqual(Array.from(top.logProbs));
    expect(Array.from(back.indices)).toEqual(Array.from(top.indices));
    await cache.dispose();
    await expect(cache.read(12)).rejects.toThrow();
  });
});
