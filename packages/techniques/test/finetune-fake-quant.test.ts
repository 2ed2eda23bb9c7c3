import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '@distillery/onnx';
import { Tracer, createPrng, fakeQuantize, mul, reduceSum } from '@distillery/nn';
import { dequantizeWeight, quantizeWeight, signedCodes } from '../src';

/** Runs y = fakeQuant(W) and d sum(y * R) / dW in ORT. */
async function runFakeQuant(w: Float32Array, r: Float32Array, K: number, M: number, opts: { bits: number; groupSize?: number; clipRatio?: number }) {
  const t = new Tracer();
  const wv = t.input('w', [K, M]);
  const y = fakeQuantize(wv, opts);
  const loss = reduceSum(mul(y, t.constant(r, [K, M])));
  const [g] = t.gradients(loss, [wv]);
  t.output(y, 'y');
  t.output(g!, 'grad');
  const s = await ort.InferenceSession.create(serializeModel(t.toModel()).model, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ w: new ort.Tensor('float32', w, [K, M]) });
    return { y: out.y!.data as Float32Array, grad: out.grad!.data as Float32Array };
  } finally {
    await s.release();
  }
}

function randn(n: number, seed: number): Float32Array {
  const rng = createPrng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('fake quantization op (straight-through estimator)', () => {
  const K = 16;
  const M = 6;
  const cases = [
    { bits: 4 },
    { bits: 4, groupSize: 4 },
    { bits: 4, clipRatio: 0.6 },
    { bits: 3, groupSize: 8, clipRatio: 0.8 },
  ];
  for (const opts of cases) {
    it(`forward equals the JS quantizer and backward is identity inside the range, 0 outside (${JSON.stringify(opts)})`, async () => {
      const w = randn(K * M, 11);
      w[5] = 0; // an exact zero stays zero
      const r = randn(K * M, 12);
      const { y, grad } = await runFakeQuant(w, r, K, M, opts);
      const ref = quantizeWeight(w, K, M, { bits: opts.bits, symmetric: true, groupSize: opts.groupSize, clipRatio: opts.clipRatio });
      const deq = dequantizeWeight(ref);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - deq[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(deq[i]!) + 1e-12);
      // Slow reference of the STE (Bengio et al. 2013): pass dy where the clamp is inactive.
      const hi = 2 ** (opts.bits - 1) - 1;
      const gs = opts.groupSize ?? K;
      let outside = 0;
      for (let k = 0; k < K; k++) {
        for (let m = 0; m < M; m++) {
          const s = ref.scales[Math.floor(k / gs) * M + m]!;
          const ratio = Math.fround(w[k * M + m]! / s);
          const inside = ratio >= -hi - 1.5 && ratio < hi + 0.5;
          if (!inside) outside++;
          expect(grad[k * M + m]).toBe(inside ? r[k * M + m] : 0);
        }
      }
      if (opts.clipRatio !== undefined) expect(outside).toBeGreaterThan(0);
      else expect(outside).toBe(0);
      // 4-bit symmetric integers.
      expect(Math.max(...signedCodes(ref))).toBeLessThanOrEqual(hi);
      expect(Math.min(...signedCodes(ref))).toBeGreaterThanOrEqual(-hi - 1);
    });
  }

  it('rejects a group size that does not divide the rows', () => {
    const t = new Tracer();
    expect(() => fakeQuantize(t.input('w', [10, 4]), { bits: 4, groupSize: 4 })).toThrow(/groupSize 4/);
  });
});
