import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { readModel, serializeModel, validate, type Model } from '@distillery/onnx';
import { dequantizeWeight, quantizeWeight, quietContext, rewriteLinear, unpackBits, type QuantSpec } from '../../src';
import { packPeriods, periodLayout, periodMatrix } from '../../src/kit/formats/bitpacked';
import { buildMlp, matmulF64, seededUniform } from '../mlp-fixture';

const H = 96;
const N = 40;
const ROWS = 3;

async function run(model: Model, x: Float32Array, k: number, opts: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1, ...opts });
  try {
    return (await s.run({ x: new ort.Tensor('float32', x, [ROWS, k]) })).hidden!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** What the graph computes per code, written the slow way: bits [j*b, (j+1)*b) of the period's bytes. */
function slowCode(bytes: Uint8Array, period: number, j: number, bits: number): number {
  let v = 0;
  for (let t = 0; t < bits; t++) {
    const bit = j * bits + t;
    v |= ((bytes[period * bits + (bit >> 3)]! >> (bit & 7)) & 1) << t;
  }
  return v;
}

describe('bit-packed codes (any width 2..8)', () => {
  it('the period layout (low byte, high byte, shift) and its window matrix recover every code exactly, for every width', () => {
    for (let bits = 2; bits <= 8; bits++) {
      const codes = Uint8Array.from({ length: 8 * 7 + 3 }, (_, i) => (i * 37 + 11) % 2 ** bits);
      const { bytes, periods } = packPeriods(codes, bits, 0);
      expect(bytes.length).toBe(periods * bits);
      const { lo, hi, shift } = periodLayout(bits);
      const m = periodMatrix(bits);
      for (let i = 0; i < codes.length; i++) {
        const p = Math.floor(i / 8);
        const j = i % 8;
        const word = bytes[p * bits + lo[j]!]! + 256 * bytes[p * bits + hi[j]!]!;
        expect(Math.floor(word / 2 ** shift[j]!) % 2 ** bits).toBe(codes[i]);
        expect(slowCode(bytes, p, j, bits)).toBe(codes[i]);
        // The graph's form: the window as a bytes x matrix product, the code from two floors.
        let window = 0;
        for (let k = 0; k < bits; k++) window += bytes[p * bits + k]! * m[k * 8 + j]!;
        expect(Math.floor(window / 2 ** shift[j]!) - 2 ** bits * Math.floor(window / 2 ** (shift[j]! + bits))).toBe(codes[i]);
      }
      expect(Array.from(unpackBits(bytes, codes.length, bits))).toEqual(Array.from(codes));
    }
  });

  const cases: [number, QuantSpec][] = [];
  for (let bits = 2; bits <= 8; bits++) cases.push([64, { bits, symmetric: true, groupSize: 32 }]);
  cases.push([64, { bits: 3, symmetric: false, groupSize: 16 }], [64, { bits: 5, symmetric: true }], [40, { bits: 3, symmetric: true, groupSize: 16 }], [40, { bits: 6, symmetric: false, groupSize: 32 }]);
  for (const [k, spec] of cases) {
    it(`ORT equals a TypeScript matmul with the dequantized weights: ${spec.bits} bits ${spec.symmetric ? 'sym' : 'asym'} group ${spec.groupSize ?? 'per-channel'}, ${k} rows`, async () => {
      const { model, w1 } = buildMlp(k, H, N, spec.bits);
      const out = await rewriteLinear(model, { technique: 'test', format: 'bitpacked', method: (t) => ({ kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec, t.name) }), ctx: quietContext() });
      expect(validate(out.model)).toEqual([]);
      expect(out.model.graph.initializers.filter((t) => t.name.includes(`packed${spec.bits}`)).every((t) => t.dtype === 'uint8')).toBe(true);
      const x = seededUniform(ROWS * k, 9);
      const got = await run(out.model, x, k);
      const want = matmulF64(x, dequantizeWeight(quantizeWeight(w1, k, H, spec)), ROWS, k, H);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * scale);
    });
  }

  it('stores 3 bits per weight plus scales (3-bit g64 symmetric: 3 + 32/64 and a few index constants)', async () => {
    const { model } = buildMlp(256, 256, 256, 1);
    const out = await rewriteLinear(model, { technique: 'test', format: 'bitpacked', method: (t) => ({ kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, { bits: 3, symmetric: true, groupSize: 64 }, t.name) }), ctx: quietContext() });
    const bpw = Number(out.report.bitsPerWeight);
    expect(bpw).toBeGreaterThanOrEqual(3.5);
    expect(bpw).toBeLessThan(3.55);
  });

  it('ORT folds the unpacking into a float weight when the session is created', async () => {
    const { model } = buildMlp(64, H, N, 3);
    const out = await rewriteLinear(model, { technique: 'test', format: 'bitpacked', method: (t) => ({ kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, { bits: 3, symmetric: true, groupSize: 32 }, t.name) }), ctx: quietContext() });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'bitpacked-')), 'optimized.onnx');
    await run(out.model, seededUniform(ROWS * 64, 1), 64, { optimizedModelFilePath: file, graphOptimizationLevel: 'extended' });
    const optimized = await readModel(file);
    const ops = optimized.graph.nodes.map((n) => n.opType);
    expect(ops.filter((op) => ['Floor', 'Mul', 'Sub', 'Cast', 'Reshape', 'Slice'].includes(op))).toEqual([]);
    expect(ops.filter((op) => op === 'MatMul')).toHaveLength(2);
    expect(optimized.graph.initializers.some((t) => t.dtype === 'float32' && t.dims.join() === `64,${H}`)).toBe(true);
  });
});
