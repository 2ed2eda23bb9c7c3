// AdamW (Loshchilov & Hutter 2019, Alg. 2) against a float64 reference, step by step.
import { describe, expect, it } from 'vitest';
import { AdamW, noDecayByName } from '../src/train/index';

interface RefState { p: number[]; m: number[]; v: number[] }

/** Algorithm 2 written out in float64, one element at a time, lr_t = alpha * eta_t. */
function referenceStep(s: RefState, g: number[], t: number, lr: number, b1: number, b2: number, eps: number, lambda: number): void {
  for (let i = 0; i < s.p.length; i++) {
    s.m[i] = b1 * s.m[i]! + (1 - b1) * g[i]!;
    s.v[i] = b2 * s.v[i]! + (1 - b2) * g[i]! ** 2;
    const mhat = s.m[i]! / (1 - b1 ** t);
    const vhat = s.v[i]! / (1 - b2 ** t);
    s.p[i] = s.p[i]! - lr * (mhat / (Math.sqrt(vhat) + eps) + lambda * s.p[i]!);
  }
}

function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
}

describe('AdamW', () => {
  it('matches the float64 reference of Algorithm 2 at every step', () => {
    const rand = lcg(7);
    const n = 37;
    const cfg = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const opt = new AdamW({ ...cfg, noDecay: () => false });
    const p = Float32Array.from({ length: n }, () => rand() * 2);
    const ref: RefState = { p: Array.from(p), m: new Array(n).fill(0), v: new Array(n).fill(0) };
    for (let t = 1; t <= 25; t++) {
      const g = Float32Array.from({ length: n }, () => rand() * (t % 3 === 0 ? 1e-3 : 1));
      const lr = 0.01 * (1 + Math.cos(t));
      opt.step(new Map([['w', p]]), new Map([['w', g]]), lr);
      referenceStep(ref, Array.from(g), t, lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weightDecay);
      for (let i = 0; i < n; i++) expect(p[i]).toBeCloseTo(ref.p[i]!, 5);
      const m = opt.state().m.get('w')!;
      for (let i = 0; i < n; i++) expect(Math.abs(m[i]! - ref.m[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(ref.m[i]!)));
    }
    expect(opt.state().t).toBe(25);
  });

  it('first step moves every weight by about lr (bias correction makes |mhat/sqrt(vhat)| = 1)', () => {
    const opt = new AdamW({ weightDecay: 0 });
    const p = Float32Array.from([1, -2, 3]);
    opt.step(new Map([['w', p]]), new Map([['w', Float32Array.from([5, -0.001, 100])]]), 0.1);
    expect(Array.from(p).map((x) => +x.toFixed(5))).toEqual([0.9, -1.9, 2.9]);
  });

  it('decays only parameters outside the no-decay set', () => {
    const opt = new AdamW({ weightDecay: 0.5, noDecay: noDecayByName() });
    const params = new Map([
      ['model.layers.0.input_layernorm.weight', Float32Array.from([2])],
      ['model.layers.0.mlp.up_proj.weight', Float32Array.from([2])],
      ['model.embed_tokens.weight', Float32Array.from([2])],
    ]);
    const zero = new Map([...params.keys()].map((k) => [k, Float32Array.from([0])]));
    opt.step(params, zero, 0.1);
    expect(params.get('model.layers.0.input_layernorm.weight')![0]).toBe(2);
    expect(params.get('model.layers.0.mlp.up_proj.weight')![0]).toBeCloseTo(2 * (1 - 0.05), 6);
    expect(params.get('model.embed_tokens.weight')![0]).toBeCloseTo(1.9, 6);
    const withEmb = noDecayByName({ embeddings: true });
    expect(withEmb('model.embed_tokens.weight')).toBe(true);
    expect(withEmb('lm_head.weight')).toBe(true);
    expect(withEmb('model.norm.weight')).toBe(true);
    expect(withEmb('model.layers.1.self_attn.q_proj.weight')).toBe(false);
  });

  it('keeps masked weights and their moments exactly zero', () => {
    const opt = new AdamW({ weightDecay: 0.1 });
    const p = Float32Array.from([1, 1, 1, 1]);
    const mask = Uint8Array.from([1, 0, 1, 0]);
    for (let t = 0; t < 5; t++) opt.step(new Map([['w', p]]), new Map([['w', Float32Array.from([1, 1, -1, -1])]]), 0.1, new Map([['w', mask]]));
    expect(p[1]).toBe(0);
    expect(p[3]).toBe(0);
    expect(p[0]).not.toBe(1);
    expect(opt.state().m.get('w')![1]).toBe(0);
  });

  it('round-trips its state and rejects bad input', () => {
    const a = new AdamW();
    const pa = Float32Array.from([1, 2]);
    a.step(new Map([['w', pa]]), new Map([['w', Float32Array.from([0.5, -0.5])]]), 0.01);
    const b = new AdamW();
    b.loadState(a.state());
    const pb = Float32Array.from(pa);
    const g = new Map([['w', Float32Array.from([0.1, 0.2])]]);
    a.step(new Map([['w', pa]]), g, 0.01);
    b.step(new Map([['w', pb]]), g, 0.01);
    expect(Array.from(pb)).toEqual(Array.from(pa));
    expect(() => a.step(new Map([['w', pa]]), new Map([['w', new Float32Array(3)]]), 0.01)).toThrow(/3 elements/);
    expect(() => a.step(new Map(), new Map([['x', new Float32Array(1)]]), 0.01)).toThrow(/unknown parameter "x"/);
    expect(() => new AdamW({ beta1: 1 })).toThrow(/betas/);
  });
});
