import { describe, expect, it } from 'vitest';
import { rowDivergence } from '../src/logit-divergence';

describe('rowDivergence', () => {
  it('equals KL(p || q) computed from softmax probabilities directly, and compares argmaxes', () => {
    const p = Float32Array.from([1, 2, 3, 0.5]);
    const q = Float32Array.from([1.5, 1, 2.5, 3]);
    const softmax = (x: Float32Array) => {
      const e = Array.from(x, Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    };
    const [pp, qq] = [softmax(p), softmax(q)];
    const ref = pp.reduce((a, v, j) => a + v * Math.log(v / qq[j]!), 0);
    const r = rowDivergence(p, q, 0, 4, new Float64Array(4), new Float64Array(4));
    expect(r.kl).toBeCloseTo(ref, 12);
    expect(r.agree).toBe(false);
    const same = rowDivergence(p, p, 0, 4, new Float64Array(4), new Float64Array(4));
    expect(same).toEqual({ kl: 0, agree: true });
  });
});
