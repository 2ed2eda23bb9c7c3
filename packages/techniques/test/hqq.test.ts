import { describe, expect, it } from 'vitest';
import { hqq, shrinkLp } from '../src/quantize/hqq';
import { dequantizeWeight, quantizeWeight } from '../src/kit/quantizer';
import { seededUniform } from './mlp-fixture';

/** Heavy-tailed weights: Laplace-distributed with a few 10x outliers, like trained LLM weights. */
function heavyTailed(n: number, seed: number): Float32Array {
  const u = seededUniform(n, seed, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.abs(u[i]!) || 1e-9;
    out[i] = Math.sign(u[i]!) * -Math.log(a) * 0.02;
    if (i % 97 === 0) out[i]! *= 10;
  }
  return out;
}

const lpError = (a: Float32Array, b: Float32Array, p: number) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!) ** p, 0) / a.length;

describe('hqq', () => {
  it('shrinkLp with p = 1 is the proximal operator of |x| / beta (brute-force minimum)', () => {
    for (const x of [-2, -0.3, -0.05, 0, 0.04, 0.5, 3]) {
      const beta = 10;
      let best = 0;
      let bestF = Infinity;
      for (let y = -4; y <= 4; y += 1e-4) {
        const f = (beta / 2) * (y - x) ** 2 + Math.abs(y);
        if (f < bestF) [best, bestF] = [y, f];
      }
      expect(shrinkLp(x, beta, 1)).toBeCloseTo(best, 3);
    }
  });

  it('lowers the error of min/max round-to-nearest on heavy-tailed weights', () => {
    const rows = 128;
    const cols = 48;
    const w = heavyTailed(rows * cols, 9);
    for (const bits of [3, 4]) {
      const spec = { bits, symmetric: false, groupSize: 64 };
      const r = hqq(w, rows, cols, { spec });
      const rtn = dequantizeWeight(quantizeWeight(w, rows, cols, spec));
      expect(r.iterations).toBeGreaterThan(1);
      expect(r.error).toBeLessThan(r.initialError);
      expect(lpError(w, r.dequantized, 1)).toBeCloseTo(r.error, 6);
      expect(r.initialError).toBeCloseTo(lpError(w, rtn, 1), 6); // the start is RTN
      expect(lpError(w, r.dequantized, 1)).toBeLessThan(0.98 * lpError(w, rtn, 1));
      expect(lpError(w, r.dequantized, 0.7)).toBeLessThan(lpError(w, rtn, 0.7));
      // The stored grid reproduces the dequantized weights.
      for (let i = 0; i < rows * cols; i += 37) {
        const g = Math.floor(Math.floor(i / cols) / 64) * cols + (i % cols);
        expect(Math.fround((r.codes[i]! - r.zeros[g]!) * r.scales[g]!)).toBe(r.dequantized[i]);
      }
    }
  });

  it('refuses a symmetric grid, naming the layer', () => {
    expect(() => hqq(new Float32Array(8), 4, 2, { spec: { bits: 4, symmetric: true }, layer: 'lm_head' })).toThrow(/lm_head: hqq .* symmetric: false/);
  });
});
