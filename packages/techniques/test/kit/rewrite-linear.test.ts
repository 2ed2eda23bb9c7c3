import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, float32ToFloat16Array, float16ArrayToFloat32, makeTensor, roundHalfEven, serializeModel, validate, type Model } from '@distillery/onnx';
import { dequantizeWeight, quantizeWeight, quietContext, rewriteLinear, selectLinearLayers, type LinearResult, type QuantSpec, type QuantizedFormat } from '../../src';
import { buildMlp, matmulF64, seededUniform } from '../mlp-fixture';

const K = 64;
const H = 96;
const N = 40;
const ROWS = 3;

/**
 * ORT 1.30 fuses DequantizeLinear + MatMul into MatMulNBits at accuracy level 4 (int8
 * activations) by default; level 0 keeps float32 activations so results compare exactly.
 */
const EXACT = { extra: { session: { qdq_matmulnbits_accuracy_level: '0' } } };

async function run(model: Model, feeds: Record<string, ort.Tensor>, opts: ort.InferenceSession.SessionOptions = EXACT): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1, ...opts });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const matmul = matmulF64;

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(rel * scale);
}

const rtn = (spec: QuantSpec) => (t: { values: Float32Array; inFeatures: number; outFeatures: number; name: string }): LinearResult => ({
  kind: 'quantized',
  weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec, t.name),
});

describe('rewriteLinear output formats: ORT equals a TypeScript matmul with the dequantized weights', () => {
  const { model, w1 } = buildMlp(K, H, N, 4);
  const x = seededUniform(ROWS * K, 17);
  const feeds = () => ({ x: new ort.Tensor('float32', x, [ROWS, K]) });

  const cases: [QuantizedFormat, QuantSpec, number][] = [
    ['dequantize-linear', { bits: 8, symmetric: true }, 1e-6],
    ['dequantize-linear', { bits: 4, symmetric: true, groupSize: 32 }, 1e-6],
    ['dequantize-linear', { bits: 3, symmetric: false, groupSize: 16 }, 1e-6],
    ['dequantize-linear', { bits: 2, symmetric: false }, 1e-6],
    ['dequantize-linear', { bits: 6, symmetric: false, groupSize: 32 }, 1e-6],
    ['matmulnbits', { bits: 4, symmetric: true, groupSize: 32 }, 1e-5],
    ['matmulnbits', { bits: 4, symmetric: false, groupSize: 16 }, 1e-5],
    ['matmulnbits', { bits: 2, symmetric: false, groupSize: 32 }, 1e-5],
    ['matmulnbits', { bits: 8, symmetric: true, groupSize: 64 }, 1e-5],
    ['matmulnbits', { bits: 4, symmetric: true }, 1e-5],
  ];
  for (const [format, spec, rel] of cases) {
    it(`${format}, ${spec.bits} bits ${spec.symmetric ? 'sym' : 'asym'} group ${spec.groupSize ?? 'per-channel'}`, async () => {
      const seen: string[] = [];
      const out = await rewriteLinear(model, {
        technique: 'test',
        format,
        accuracyLevel: 0,
        method: (t) => {
          seen.push(t.name);
          return rtn(spec)(t);
        },
        ctx: quietContext(),
      });
      expect(seen).toEqual(['/model/layers.0/mlp/up_proj/MatMul', '/lm_head/MatMul']);
      expect(validate(out.model)).toEqual([]);
      const op = format === 'matmulnbits' ? 'MatMulNBits' : 'DequantizeLinear';
      expect(out.model.graph.nodes.filter((n) => n.opType === op)).toHaveLength(2);
      expect(out.model.graph.initializers.some((t) => t.name === 'layers.0.up.weight')).toBe(false);
      const res = await run(out.model, feeds());
      const deq = dequantizeWeight(quantizeWeight(w1, K, H, spec));
      expectClose(res.hidden!.data as Float32Array, matmul(x, deq, ROWS, K, H), rel);
      // Not the float weights: the quantization error is visible.
      const fp = matmul(x, w1, ROWS, K, H);
      expect(Math.max(...Array.from(res.hidden!.data as Float32Array, (v, i) => Math.abs(v - fp[i]!)))).toBeGreaterThan(1e-4);
    });
  }

  it('matmulnbits at accuracy_level 4 (int8 activations) stays within 2% of the fp32-activation result', async () => {
    const spec: QuantSpec = { bits: 4, symmetric: true, groupSize: 32 };
    const out = await rewriteLinear(model, { technique: 'test', format: 'matmulnbits', accuracyLevel: 4, method: rtn(spec), ctx: quietContext() });
    expect(out.model.graph.nodes.find((n) => n.opType === 'MatMulNBits')!.attributes.accuracy_level).toEqual({ type: 'int', value: 4 });
    const res = await run(out.model, feeds());
    expectClose(res.hidden!.data as Float32Array, matmul(x, dequantizeWeight(quantizeWeight(w1, K, H, spec)), ROWS, K, H), 0.02);
  });

  it('dequantize-linear under ORT defaults (fused into MatMulNBits, int8 activations) stays within 2%', async () => {
    const spec: QuantSpec = { bits: 4, symmetric: true, groupSize: 32 };
    const out = await rewriteLinear(model, { technique: 'test', method: rtn(spec), ctx: quietContext() });
    const res = await run(out.model, feeds(), {});
    expectClose(res.hidden!.data as Float32Array, matmul(x, dequantizeWeight(quantizeWeight(w1, K, H, spec)), ROWS, K, H), 0.02);
  });

  it('matmul-integer: DynamicQuantizeLinear + MatMulInteger equals the same arithmetic done in TypeScript', async () => {
    // 7-bit codes (reduce_range): ORT's uint8 x int8 kernel without VNNI sums pairs in int16.
    const spec: QuantSpec = { bits: 7, symmetric: true };
    const out = await rewriteLinear(model, { technique: 'test', format: 'matmul-integer', method: rtn(spec), ctx: quietContext() });
    expect(out.model.graph.nodes.filter((n) => n.opType === 'MatMulInteger').map((n) => n.name)).toEqual(['/model/layers.0/mlp/up_proj/MatMul', '/lm_head/MatMul']);
    const res = await run(out.model, feeds());
    // DynamicQuantizeLinear (ONNX spec): range widened to include 0, uint8, zero point rounded.
    const lo = Math.min(0, ...x);
    const hi = Math.max(0, ...x);
    const sx = Math.fround((hi - lo) / 255);
    const zx = Math.min(255, Math.max(0, roundHalfEven(-lo / sx)));
    const xq = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(v / sx) + zx)) - zx);
    const qw = quantizeWeight(w1, K, H, spec);
    const ref = matmul(xq, Array.from(qw.codes, (c) => c - 64), ROWS, K, H).map((v, i) => v * sx * qw.scales[i % H]!);
    expectClose(res.hidden!.data as Float32Array, ref, 1e-5);
  });

  it('dense storage dtypes, codebook and two-factor outputs run in ORT as the TypeScript reference says', async () => {
    const half = await rewriteLinear(model, { technique: 'test', method: (t) => ({ kind: 'dense', values: t.values, dtype: 'float16' }), ctx: quietContext() });
    expect(half.model.graph.initializers.filter((t) => t.dtype === 'float16')).toHaveLength(2);
    expect(half.report.bitsPerWeight).toBe(16);
    expectClose((await run(half.model, feeds())).hidden!.data as Float32Array, matmul(x, float16ArrayToFloat32(float32ToFloat16Array(w1)), ROWS, K, H), 1e-6);

    const bf = await rewriteLinear(model, { technique: 'test', method: (t) => ({ kind: 'dense', values: t.values, dtype: 'bfloat16' }), ctx: quietContext() });
    const bfRef = Float32Array.from(w1, (v) => {
      const f = new Float32Array([v]);
      const u = new Uint32Array(f.buffer);
      u[0] = ((u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) >>> 16) << 16; // round to nearest even, as float32ToBfloat16Bits
      return f[0]!;
    });
    expectClose((await run(bf.model, feeds())).hidden!.data as Float32Array, matmul(x, bfRef, ROWS, K, H), 1e-6);

    const codebook = Float32Array.from([-0.4, -0.1, 0.1, 0.4]);
    const nearest = (v: number) => codebook.reduce((best, c, i) => (Math.abs(v - c) < Math.abs(v - codebook[best]!) ? i : best), 0);
    const cb = await rewriteLinear(model, {
      technique: 'test',
      method: (t) => ({ kind: 'codebook', codebook, indices: Uint8Array.from(t.values, nearest) }),
      ctx: quietContext(),
    });
    expect(cb.model.graph.nodes.filter((n) => n.opType === 'Gather')).toHaveLength(2);
    expectClose((await run(cb.model, feeds())).hidden!.data as Float32Array, matmul(x, Array.from(w1, (v) => codebook[nearest(v)]!), ROWS, K, H), 1e-6);

    const rank = 5;
    const factors = new Map<string, [Float32Array, Float32Array]>();
    const lr = await rewriteLinear(model, {
      technique: 'test',
      method: (t) => {
        const left = seededUniform(t.inFeatures * rank, 3);
        const right = seededUniform(rank * t.outFeatures, 4);
        factors.set(t.name, [left, right]);
        return { kind: 'factors', left, right, rank };
      },
      ctx: quietContext(),
    });
    const [left, right] = factors.get('/model/layers.0/mlp/up_proj/MatMul')!;
    expectClose((await run(lr.model, feeds())).hidden!.data as Float32Array, matmul(matmul(x, left, ROWS, K, rank), right, ROWS, rank, H), 1e-5);
    expect(lr.layers[0]!.bytesAfter).toBe((K * rank + rank * H) * 4);
  });

  it('rows that do not fill the last block (MatMulNBits pads with zero-point codes; DequantizeLinear blocks round up)', async () => {
    const k = 40;
    const odd = buildMlp(k, H, N, 6);
    const xs = seededUniform(ROWS * k, 2);
    for (const [format, spec] of [
      ['matmulnbits', { bits: 4, symmetric: true }],
      ['matmulnbits', { bits: 4, symmetric: false, groupSize: 16 }],
      ['dequantize-linear', { bits: 4, symmetric: false, groupSize: 16 }],
    ] as [QuantizedFormat, QuantSpec][]) {
      const out = await rewriteLinear(odd.model, { technique: 'test', format, accuracyLevel: 0, method: rtn(spec), ctx: quietContext() });
      const res = await run(out.model, { x: new ort.Tensor('float32', xs, [ROWS, k]) });
      expectClose(res.hidden!.data as Float32Array, matmul(xs, dequantizeWeight(quantizeWeight(odd.w1, k, H, spec)), ROWS, k, H), 1e-5);
    }
  });

  it('counts bits per weight honestly: 4-bit g32 symmetric MatMulNBits is 4 + 32/32', async () => {
    const out = await rewriteLinear(model, { technique: 'test', format: 'matmulnbits', method: rtn({ bits: 4, symmetric: true, groupSize: 32 }), ctx: quietContext() });
    expect(out.report.bitsPerWeight).toBe(5);
    expect(out.report.weightBytesBefore).toBe((K * H + H * N) * 4);
  });
});

/** x (fp16) @ W (fp16) read directly, as fp16 Optimum exports compute. */
function fp16DirectModel(): { model: Model; w: Float32Array } {
  const b = new GraphBuilder('fp16');
  const w = float16ArrayToFloat32(float32ToFloat16Array(seededUniform(K * H, 8, 0.5)));
  const x = b.input('x', 'float16', ['batch', K]);
  b.addInitializer(makeTensor('model.layers.0.mlp.up_proj.weight', 'float16', [K, H], float32ToFloat16Array(w)));
  const y = b.op('MatMul', [x, 'model.layers.0.mlp.up_proj.weight'], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
  b.output(y, 'float16', ['batch', H], 'y');
  const model = b.toModel();
  for (const n of model.graph.nodes) n.name = n.name.replace(/\/node$/, '');
  return { model, w };
}

describe('imported-style models whose MatMuls read float16 directly', () => {
  it('are found (compute dtype float16) and quantized in every format that takes float16 activations (bit-packed codes unpacked in float32, then cast)', async () => {
    const { model, w } = fp16DirectModel();
    const sel = selectLinearLayers(model);
    expect(sel.selected.map((l) => [l.name, l.layer.computeDtype, l.block, l.role])).toEqual([['/model/layers.0/mlp/up_proj/MatMul', 'float16', 0, 'up']]);
    const x = seededUniform(ROWS * K, 5);
    const xh = float32ToFloat16Array(x);
    const x16 = float16ArrayToFloat32(xh);
    for (const format of ['dequantize-linear', 'matmulnbits', 'bitpacked'] as const) {
      const spec: QuantSpec = { bits: 4, symmetric: true, groupSize: 32 };
      const out = await rewriteLinear(model, { technique: 'test', format, accuracyLevel: 0, method: rtn(spec), ctx: quietContext() });
      expect(out.model.graph.initializers.find((t) => t.name.endsWith('_scale') || t.name.endsWith('_scales'))!.dtype).toBe('float16');
      const res = await run(out.model, { x: new ort.Tensor('float16', xh, [ROWS, K]) });
      const qw = quantizeWeight(w, K, H, spec);
      // Scales are stored in float16, so the reference dequantizes with float16 scales.
      const deq = dequantizeWeight({ ...qw, scales: float16ArrayToFloat32(float32ToFloat16Array(qw.scales)) });
      expectClose(float16ArrayToFloat32(res.y!.data as Uint16Array), matmul(x16, deq, ROWS, K, H), 4e-3);
    }
    await expect(rewriteLinear(model, { technique: 'test', format: 'matmul-integer', method: rtn({ bits: 8, symmetric: true }), ctx: quietContext() })).rejects.toThrow(
      /\/model\/layers\.0\/mlp\/up_proj\/MatMul: format "matmul-integer" needs float32 activations/,
    );
  });
});

describe('bad input gets errors naming the layer and the parameter', () => {
  const { model } = buildMlp(K, H, N, 4);
  it('3 bits with MatMulNBits', async () => {
    await expect(rewriteLinear(model, { technique: 'quantize.rtn', format: 'matmulnbits', method: rtn({ bits: 3, symmetric: true, groupSize: 32 }), ctx: quietContext() })).rejects.toThrow(
      /\/model\/layers\.0\/mlp\/up_proj\/MatMul: format "matmulnbits" runs 2, 4, 8 bits in onnxruntime 1\.30, not bits=3/,
    );
  });
  it('a group larger than the row', async () => {
    await expect(rewriteLinear(model, { technique: 'quantize.rtn', method: rtn({ bits: 4, symmetric: true, groupSize: 128 }), ctx: quietContext() })).rejects.toThrow(
      /\/model\/layers\.0\/mlp\/up_proj\/MatMul: groupSize 128 is larger than the layer's 64 input features/,
    );
  });
  it('a MatMulNBits group that is not a power of two', async () => {
    await expect(rewriteLinear(model, { technique: 'quantize.rtn', format: 'matmulnbits', method: rtn({ bits: 4, symmetric: true, groupSize: 48 }), ctx: quietContext() })).rejects.toThrow(
      /needs groupSize a power of two >= 16 .* got 48/,
    );
  });
  it('a model with no linear layers, and a selection matching none', async () => {
    const b = new GraphBuilder('relu');
    b.output(b.op('Relu', [b.input('x', 'float32', [2])]), 'float32', [2], 'y');
    await expect(rewriteLinear(b.toModel(), { technique: 'quantize.rtn', method: rtn({ bits: 4, symmetric: true }), ctx: quietContext() })).rejects.toThrow(
      'quantize.rtn: no linear layer matched: the model has no MatMul reading a constant 2-D float weight (its ops: Identity, Relu)',
    );
    await expect(rewriteLinear(model, { technique: 'quantize.rtn', selection: { roles: ['q'] }, method: rtn({ bits: 4, symmetric: true }), ctx: quietContext() })).rejects.toThrow(
      /no linear layer matched the selection; found 2: \/model\/layers\.0\/mlp\/up_proj\/MatMul \(block 0, up, 64x96 float32\): role up is not in roles/,
    );
  });
  it('NaN and Inf weights', async () => {
    const bad = structuredClone(model);
    const w = new Float32Array(bad.graph.initializers[1]!.raw.slice().buffer);
    w[N + 3] = Number.NaN;
    bad.graph.initializers[1] = makeTensor('lm_head.weight', 'float32', [H, N], w);
    await expect(rewriteLinear(bad, { technique: 'quantize.rtn', method: rtn({ bits: 8, symmetric: true }), ctx: quietContext() })).rejects.toThrow(
      /quantize\.rtn: layer \/lm_head\/MatMul \(weight lm_head\.weight\) has NaN at row 1, column 3/,
    );
  });
  it('a method that keeps every layer fails instead of reporting success', async () => {
    await expect(rewriteLinear(model, { technique: 'prune.none', method: () => null, ctx: quietContext() })).rejects.toThrow(/prune\.none: changed no layer/);
  });
});
