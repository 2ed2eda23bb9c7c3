// Warmup + cosine (SGDR, Loshchilov & Hutter 2017, eq. 5) and global-norm clipping (Pascanu et al. 2013, Alg. 1).
import { describe, expect, it } from 'vitest';
import { clipGlobalNorm, constantSchedule, globalNorm, warmupCosine } from '../src/train/index';

describe('warmupCosine', () => {
  const s = warmupCosine({ peakLr: 1, warmupSteps: 4, totalSteps: 14, minLr: 0.1 });

  it('warms up linearly from peak/warmup to peak', () => {
    expect([0, 1, 2, 3].map(s)).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('follows the half cosine to the floor and stays there', () => {
    expect(s(4)).toBe(1);
    expect(s(9)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI / 2)), 12); // halfway: 0.55
    expect(s(9)).toBeCloseTo(0.55, 12);
    expect(s(6)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.2)), 12);
    expect(s(14)).toBeCloseTo(0.1, 12);
    expect(s(100)).toBeCloseTo(0.1, 12);
    for (let i = 4; i < 14; i++) expect(s(i + 1)).toBeLessThan(s(i));
  });

  it('handles no warmup and no decay, and rejects bad settings', () => {
    expect(warmupCosine({ peakLr: 2, warmupSteps: 0, totalSteps: 2 })(0)).toBe(2);
    expect(warmupCosine({ peakLr: 2, warmupSteps: 0, totalSteps: 2 })(1)).toBeCloseTo(1, 12);
    expect(warmupCosine({ peakLr: 2, warmupSteps: 2, totalSteps: 2, minLr: 0.5 })(2)).toBe(0.5);
    expect(constantSchedule(0.3)(1234)).toBe(0.3);
    expect(() => warmupCosine({ peakLr: 1, warmupSteps: 5, totalSteps: 3 })).toThrow(/totalSteps/);
    expect(() => warmupCosine({ peakLr: 1, warmupSteps: 0, totalSteps: 3, minLr: 2 })).toThrow(/minLr/);
  });
});

describe('clipGlobalNorm', () => {
  it('computes the norm over all tensors together', () => {
    expect(globalNorm(new Map([['a', Float32Array.from([3])], ['b', Float32Array.from([0, 4])]]))).toBe(5);
  });

  it('rescales to the threshold when above it, preserving direction', () => {
    const g = new Map([['a', Float32Array.from([3, 0])], ['b', Float32Array.from([4])]]);
    const r = clipGlobalNorm(g, 1);
    expect(r.norm).toBe(5);
    expect(r.scale).toBeCloseTo(0.2, 12);
    expect(g.get('a')![0]).toBeCloseTo(0.6, 6);
    expect(g.get('b')![0]).toBeCloseTo(0.8, 6);
    expect(globalNorm(g)).toBeCloseTo(1, 6);
  });

  it('leaves gradients under the threshold untouched', () => {
    const g = new Map([['a', Float32Array.from([0.3, 0.4])]]);
    const r = clipGlobalNorm(g, 1);
    expect(r.scale).toBe(1);
    expect(r.norm).toBeCloseTo(0.5, 7);
    expect(Array.from(g.get('a')!)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(() => clipGlobalNorm(new Map([['a', Float32Array.from([NaN])]]), 1)).toThrow(/NaN/);
  });
});
