import { describe, expect, it } from 'vitest';
import { bitsForMaxAbs, createPrng, weightNameOfMatMul, type WeightQuantization } from '@distillery/nn';
import { dequantizeWeight, quantizeWeight, signedCodes } from '../src';
import { recoveryGrid } from '../src/finetune/quantization-grid';

const K = 16;
const M = 6;

function randn(n: number, seed: number): Float32Array {
  const rng = createPrng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** What decoderWeightsFromModel reports for a weight quantized by quantizeWeight. */
function asRead(w: Float32Array, bits: number, groupSize: number, clipRatio: number): { info: WeightQuantization; deq: Float32Array } {
  const x = quantizeWeight(w, K, M, { bits, symmetric: true, groupSize, clipRatio });
  const q = signedCodes(x);
  const groupMaxAbs = new Int32Array(x.scales.length);
  for (let r = 0; r < K; r++) for (let c = 0; c < M; c++) {
    const g = Math.floor(r / groupSize) * M + c;
    groupMaxAbs[g] = Math.max(groupMaxAbs[g]!, Math.abs(q[r * M + c]!));
  }
  const info: WeightQuantization = {
    dtype: bits > 4 ? 'int8' : 'int4', bits: bitsForMaxAbs(Math.max(...groupMaxAbs)), groupSize, scales: x.scales, q, groupMaxAbs,
    quantizedInitializer: 'q', scaleInitializer: 's', dequantizeNode: 'dq',
  };
  return { info, deq: dequantizeWeight(x) };
}

describe('recoveryGrid: the fake-quant setting that reproduces a quantized weight', () => {
  for (const [bits, groupSize] of [[8, K], [4, K], [4, 4], [3, 8]] as const) {
    it(`re-quantizing the dequantized weights gives back the same integers and scales (${bits} bits, group ${groupSize})`, () => {
      const { info, deq } = asRead(randn(K * M, bits * 10 + groupSize), bits, groupSize, 1);
      expect(info.bits).toBe(bits);
      const grid = recoveryGrid(new Map([['w', info]]), () => K, 'test');
      expect(grid).toEqual({ bits, groupSize: groupSize === K ? undefined : groupSize, clipRatio: 1, groupsOffGrid: 0 });
      const again = quantizeWeight(deq, K, M, { bits: grid.bits, symmetric: true, groupSize: grid.groupSize, clipRatio: grid.clipRatio });
      expect(Array.from(signedCodes(again))).toEqual(Array.from(info.q));
      for (let i = 0; i < again.scales.length; i++) expect(Math.abs(again.scales[i]! - info.scales[i]!)).toBeLessThanOrEqual(2 ** -22 * info.scales[i]!);
    });
  }

  it('with a clipped grid (clipRatio < 1), groups whose max |q| is the common one are reproduced and the rest counted', () => {
    const { info, deq } = asRead(randn(K * M, 7), 4, 4, 0.7);
    const grid = recoveryGrid(new Map([['w', info]]), () => K, 'test');
    // Slow reference: the most common nonzero group max decides; every other group is off grid.
    const counts = new Map<number, number>();
    for (const m of info.groupMaxAbs) counts.set(m, (counts.get(m) ?? 0) + 1);
    const mode = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    expect(grid.clipRatio).toBeCloseTo(7 / mode, 12);
    expect(grid.groupsOffGrid).toBe(info.groupMaxAbs.length - counts.get(mode)!);
    expect(grid.groupsOffGrid).toBeGreaterThan(0);
    const again = signedCodes(quantizeWeight(deq, K, M, { bits: 4, symmetric: true, groupSize: 4, clipRatio: grid.clipRatio }));
    for (let g = 0; g < info.groupMaxAbs.length; g++) {
      if (info.groupMaxAbs[g] !== mode) continue;
      const [row0, c] = [Math.floor(g / M) * 4, g % M];
      for (let r = row0; r < row0 + 4; r++) expect(again[r * M + c]).toBe(info.q[r * M + c]);
    }
  });

  it('refuses layers with different widths or groupings, naming the difference', () => {
    const a = asRead(randn(K * M, 1), 8, K, 1).info;
    const b = asRead(randn(K * M, 2), 4, K, 1).info;
    const c = asRead(randn(K * M, 3), 4, 4, 1).info;
    expect(() => recoveryGrid(new Map([['a', a], ['b', b]]), () => K, 'finetune.recover')).toThrow(/finetune\.recover: .*different bit widths \(8, 4\)/);
    expect(() => recoveryGrid(new Map([['b', b], ['c', c]]), () => K, 'finetune.recover')).toThrow(/mix scale groupings \(per-channel, 4\)/);
  });

  it('bit widths and weight names read from a quantized graph', () => {
    expect([1, 2, 3, 4, 7, 8, 127, 128].map(bitsForMaxAbs)).toEqual([2, 2, 3, 3, 4, 4, 8, 8]);
    expect(weightNameOfMatMul('/model/layers.3/mlp/down_proj/MatMul')).toBe('model.layers.3.mlp.down_proj.weight');
    expect(weightNameOfMatMul('/lm_head/MatMul')).toBe('lm_head.weight');
    expect(weightNameOfMatMul('/model/layers.0/self_attn/MatMul_1')).toBeUndefined();
  });
});
