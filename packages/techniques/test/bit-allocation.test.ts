import { describe, expect, it } from 'vitest';
import { allocateBits, type LayerCandidates } from '../src/quantize/bit-allocation';
import { seededUniform } from './mlp-fixture';

/** Every combination of options, the cheapest-KL one that fits. */
function bruteForce(layers: LayerCandidates[], target: number) {
  const total = layers.reduce((s, l) => s + l.weights, 0);
  let best = { kl: Infinity, bits: [] as number[] };
  const walk = (i: number, cost: number, kl: number, bits: number[]) => {
    if (i === layers.length) {
      if (cost <= target * total && kl < best.kl) best = { kl, bits: [...bits] };
      return;
    }
    for (const o of layers[i]!.options) walk(i + 1, cost + layers[i]!.weights * o.bitsPerWeight, kl + o.kl, [...bits, o.bits]);
  };
  walk(0, 0, 0, []);
  return best;
}

function tinyLayers(seed: number): LayerCandidates[] {
  const r = seededUniform(40, seed, 1).map(Math.abs);
  const sizes = [4096, 11008, 4096, 16384, 2048];
  return sizes.map((weights, i) => ({
    layer: `layers.${i}`,
    weights,
    // Fewer bits cost more KL, by a layer-specific factor.
    options: [2, 3, 4, 8].map((bits, k) => ({ bits, kl: r[i * 4 + k]! * 0.1 + (r[20 + i]! + 0.1) * 2 ** (4 - bits), bitsPerWeight: bits + 0.5 })),
  }));
}

describe('allocateBits', () => {
  for (const [seed, target] of [
    [1, 3.5],
    [2, 3.2],
    [3, 4.1],
    [4, 5.7],
    [5, 2.9],
  ] as const) {
    it(`finds the brute-force optimum (seed ${seed}, ${target} bits per weight)`, () => {
      const layers = tinyLayers(seed);
      const ref = bruteForce(layers, target);
      const got = allocateBits(layers, target);
      expect(got.predictedKl).toBeCloseTo(ref.kl, 9);
      expect(layers.map((l) => got.bits.get(l.layer))).toEqual(ref.bits);
      expect(got.bitsPerWeight).toBeLessThanOrEqual(target);
    });
  }

  it('spends bits where the KL is: a sensitive layer gets more bits than an insensitive one', () => {
    const layer = (name: string, sens: number): LayerCandidates => ({
      layer: name,
      weights: 1000,
      options: [2, 4].map((bits) => ({ bits, kl: sens * 2 ** -bits, bitsPerWeight: bits })),
    });
    const got = allocateBits([layer('robust', 0.01), layer('sensitive', 10)], 3);
    expect(got.bits.get('sensitive')).toBe(4);
    expect(got.bits.get('robust')).toBe(2);
  });

  it('explains a target below every layer at its fewest bits', () => {
    expect(() => allocateBits(tinyLayers(1), 2.2)).toThrow(/target of 2.2 bits per weight is below the smallest reachable, 2.5000/);
  });
});
