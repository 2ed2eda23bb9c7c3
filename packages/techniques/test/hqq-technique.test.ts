import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeModel, validate, type Model } from '@distillery/onnx';
import { dequantizeWeight, hqq, hqqParams, hqqTechnique, hqqWeight, quantizeWeight, quietContext, registry, rewriteLinear } from '../src';
import { buildMlp, matmulF64, seededUniform } from './mlp-fixture';

const K = 64;
const H = 96;
const N = 40;
const ROWS = 3;

async function run(model: Model, x: Float32Array): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return await s.run({ x: new ort.Tensor('float32', x, [ROWS, K]) });
  } finally {
    await s.release();
  }
}

function maxRelDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
  }
  return diff / scale;
}

describe('quantize.hqq', () => {
  const { model, w1, w2 } = buildMlp(K, H, N, 4);
  const x = seededUniform(ROWS * K, 17);

  for (const bits of [2, 4]) {
    it(`${bits}-bit MatMulNBits with real-valued zero points: ORT equals a TypeScript matmul with the dequantized weights`, async () => {
      const out = await hqqTechnique.apply(model, hqqParams.parse({ bits, groupSize: 32, accuracyLevel: 0 }), quietContext());
      expect(validate(out.model)).toEqual([]);
      const nodes = out.model.graph.nodes.filter((n) => n.opType === 'MatMulNBits');
      expect(nodes).toHaveLength(2);
      const zp = out.model.graph.initializers.find((t) => t.name === nodes[0]!.inputs[3]);
      expect(zp?.dtype).toBe('float32');
      const r = hqq(w1, K, H, { spec: { bits, symmetric: false, groupSize: 32 } });
      expect(r.zeros.some((z) => z !== Math.round(z))).toBe(true); // the zero points really are fractional
      const deq = dequantizeWeight(hqqWeight(r));
      expect(deq).toEqual(r.dequantized);
      const res = await run(out.model, x);
      expect(maxRelDiff(res.hidden!.data as Float32Array, matmulF64(x, deq, ROWS, K, H))).toBeLessThan(1e-5);
      // The quantization error is visible: not the float weights.
      expect(maxRelDiff(res.hidden!.data as Float32Array, matmulF64(x, w1, ROWS, K, H))).toBeGreaterThan(1e-4);
      expect(out.report.layersRewritten).toBe(2);
      expect(out.report.meanAbsErrorHqq as number).toBeLessThan(out.report.meanAbsErrorRtn as number);
      // Codes, one float32 scale and one float32 zero point per 32 weights.
      expect(out.report.bitsPerWeight).toBe(bits + 2);
    });
  }

  it('at accuracy_level 4 (int8 activations) stays within 2% of the float-activation result', async () => {
    const out = await hqqTechnique.apply(model, hqqParams.parse({ bits: 4, groupSize: 32 }), quietContext());
    const deq = dequantizeWeight(hqqWeight(hqq(w1, K, H, { spec: { bits: 4, symmetric: false, groupSize: 32 } })));
    expect(maxRelDiff((await run(out.model, x)).hidden!.data as Float32Array, matmulF64(x, deq, ROWS, K, H))).toBeLessThan(0.02);
  });

  it('lowers the weight error of asymmetric RTN on the same grid (output of the second layer)', async () => {
    const spec = { bits: 4, symmetric: false, groupSize: 32 };
    const rtnErr = dequantizeWeight(quantizeWeight(w2, H, N, spec)).reduce((s, v, i) => s + Math.abs(v - w2[i]!), 0);
    const hqqErr = hqq(w2, H, N, { spec }).dequantized.reduce((s, v, i) => s + Math.abs(v - w2[i]!), 0);
    expect(hqqErr).toBeLessThan(rtnErr);
  });

  it('refuses bits and groups MatMulNBits cannot store, naming the parameter; real zero points in another format name the layer', async () => {
    for (const bits of [3, 8]) expect(hqqParams.safeParse({ bits }).error!.issues[0]).toMatchObject({ path: ['bits'], message: expect.stringMatching(/bits must be 2 or 4/) });
    expect(hqqParams.safeParse({ groupSize: 48 }).error!.issues[0]!.path).toEqual(['groupSize']);
    const qw = hqqWeight(hqq(w1, K, H, { spec: { bits: 4, symmetric: false, groupSize: 32 } }));
    await expect(rewriteLinear(model, { technique: 'test', format: 'dequantize-linear', method: () => ({ kind: 'quantized', weight: qw }), ctx: quietContext() })).rejects.toThrow(
      /\/model\/layers\.0\/mlp\/up_proj\/MatMul: format "dequantize-linear" stores integer zero points only/,
    );
    expect(registry.has('quantize.hqq')).toBe(true);
  });
});
