import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModel, roundHalfEven, serializeModel, writeModel, type Model } from '@distillery/onnx';
import {
  CanceledError,
  dequantizeWeight,
  quantizeWeight,
  signedCodes,
  quantizeRtnInt8,
  quietContext,
  rtnInt8,
  rtnInt8Params,
} from '../src';
import { buildMlp, matmulF64, seededUniform } from './mlp-fixture';

async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await s.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await s.release();
  }
}

/** Obviously-correct reference: per column, scale = max|w| * fp32(1/127) in fp32 (as the QAT graph computes it), q = round(w/scale). */
function slowQuantize(w: Float32Array, rows: number, cols: number) {
  const q = new Int8Array(rows * cols);
  const scales = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    const col = Array.from({ length: rows }, (_, r) => w[r * cols + c]!);
    const m = Math.max(...col.map(Math.abs));
    scales[c] = m === 0 ? 1e-30 : Math.fround(m * Math.fround(1 / 127));
    col.forEach((v, r) => (q[r * cols + c] = Math.max(-127, Math.min(127, roundHalfEven(v / scales[c]!)))));
  }
  return { q, scales };
}

const params = (p: unknown = {}) => rtnInt8Params.parse(p);

describe('int8 per-column rounding', () => {
  it('matches the slow reference and stays within half a step of each weight', () => {
    const rows = 17, cols = 9;
    const w = seededUniform(rows * cols, 7, 3);
    for (let r = 0; r < rows; r++) w[r * cols + 4] = 0; // an all-zero column
    const qw = quantizeWeight(w, rows, cols, { bits: 8, symmetric: true });
    const got = { q: signedCodes(qw), scales: qw.scales };
    const ref = slowQuantize(w, rows, cols);
    expect(Array.from(got.q)).toEqual(Array.from(ref.q));
    expect(Array.from(got.scales)).toEqual(Array.from(ref.scales));
    const deq = dequantizeWeight(qw);
    for (let i = 0; i < w.length; i++) expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(got.scales[i % cols]! / 2 + 1e-7);
    // The column maximum maps to exactly ±127.
    for (let c = 0; c < cols; c++) if (c !== 4) expect(Math.max(...Array.from({ length: rows }, (_, r) => Math.abs(got.q[r * cols + c]!)))).toBe(127);
  });
});

describe('quantize.rtn-int8', () => {
  it('is registered with a schema that applies defaults and rejects unknown keys', () => {
    expect(rtnInt8.id).toBe('quantize.rtn-int8');
    expect(params()).toEqual({ skip: [], minSize: 0 });
    expect(rtnInt8Params.safeParse({ bits: 4 }).success).toBe(false);
  });

  it('rewrites MatMul weights to DequantizeLinear(int8, scale, axis=1) that ORT runs exactly', async () => {
    const { model, w1, w2 } = buildMlp(8, 16, 6, 3);
    const { model: qm, report } = await rtnInt8.apply(model, params(), quietContext());
    expect(report).toMatchObject({ layersQuantized: 2, layersSkipped: 0, weightBytesBefore: (8 * 16 + 16 * 6) * 4 });
    expect(report.weightBytesAfter).toBe(8 * 16 + 16 * 6 + (16 + 6) * 4);
    expect(qm.graph.initializers.map((t) => `${t.name}:${t.dtype}`).sort()).toEqual(
      ['layers.0.up.weight_quantized:int8', 'layers.0.up.weight_scale:float32', 'lm_head.weight_quantized:int8', 'lm_head.weight_scale:float32'].sort(),
    );
    const dqs = qm.graph.nodes.filter((n) => n.opType === 'DequantizeLinear');
    expect(dqs.map((n) => n.attributes.axis)).toEqual([{ type: 'int', value: 1 }, { type: 'int', value: 1 }]);
    // MatMul names are kept so inspection still groups layers by block and role.
    expect(qm.graph.nodes.filter((n) => n.opType === 'MatMul').map((n) => n.name)).toEqual(
      model.graph.nodes.filter((n) => n.opType === 'MatMul').map((n) => n.name),
    );
    // The input model is untouched.
    expect(model.graph.initializers.map((t) => t.dtype)).toEqual(['float32', 'float32']);

    // Expose ORT's dequantized weight to compare it bit for bit with the JS reference.
    const probe: Model = { ...qm, graph: { ...qm.graph, outputs: [...qm.graph.outputs, { name: 'layers.0.up.weight_dequantized', dtype: 'float32', shape: [8, 16] }] } };
    const x = seededUniform(4 * 8, 11);
    const out = await run(probe, { x: new ort.Tensor('float32', x, [4, 8]) });
    const ref = slowQuantize(w1, 8, 16);
    const refDeq = Float32Array.from(ref.q, (q, i) => q * ref.scales[i % 16]!);
    expect(Array.from(out['layers.0.up.weight_dequantized']!)).toEqual(Array.from(refDeq));
    // The quantized MatMul equals x @ dequant(W1) up to fp32 summation rounding.
    const hRef = matmulF64(x, refDeq, 4, 8, 16);
    out.hidden!.forEach((v, i) => expect(Math.abs(v - hRef[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(hRef[i]!))));

    // And the whole model stays close to fp32.
    const fp = await run(model, { x: new ort.Tensor('float32', x, [4, 8]) });
    const yRef = matmulF64(Float32Array.from(matmulF64(x, w1, 4, 8, 16), (v) => Math.max(0, v)), w2, 4, 16, 6);
    fp.y!.forEach((v, i) => expect(v).toBeCloseTo(yRef[i]!, 5));
    const err = Math.hypot(...out.y!.map((v, i) => v - fp.y![i]!)) / Math.hypot(...fp.y!);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.02);
  });

  it('skips layers by name and by minSize, leaving them in float32', async () => {
    const { model } = buildMlp(8, 16, 6);
    const bySkip = await quantizeRtnInt8(model, params({ skip: ['lm_head'] }), quietContext());
    expect(bySkip.report).toMatchObject({ layersQuantized: 1, layersSkipped: 1, skippedLayers: '/lm_head/MatMul' });
    expect(bySkip.model.graph.initializers.find((t) => t.name === 'lm_head.weight')?.dtype).toBe('float32');
    const bySize = await quantizeRtnInt8(model, params({ minSize: 8 * 16 }), quietContext());
    expect(bySize.report).toMatchObject({ layersQuantized: 1, skippedLayers: '/lm_head/MatMul' });
  });

  it('quantizes float16 weights behind a Cast and drops the Cast', async () => {
    const bits = Uint16Array.from({ length: 16 * 6 }, (_, i) => 0x3c00 + ((i * 37) % 512) - 256 + (i % 2 ? 0x8000 : 0)); // ±(~0.9..1.1)
    const { model } = buildMlp(8, 16, 6, 5, { fp16W2: bits });
    const { model: qm, report } = await quantizeRtnInt8(model, params(), quietContext());
    expect(report).toMatchObject({ layersQuantized: 2, weightBytesBefore: 8 * 16 * 4 + 16 * 6 * 2 });
    expect(qm.graph.nodes.some((n) => n.opType === 'Cast')).toBe(false);
    const x = seededUniform(3 * 8, 2);
    const [a, b] = await Promise.all([run(model, { x: new ort.Tensor('float32', x, [3, 8]) }), run(qm, { x: new ort.Tensor('float32', x, [3, 8]) })]);
    const err = Math.hypot(...b.y!.map((v, i) => v - a.y![i]!)) / Math.hypot(...a.y!);
    expect(err).toBeLessThan(0.02);
  });

  it('leaves a weight alone when something other than a MatMul also reads it', async () => {
    const { model } = buildMlp(8, 16, 6);
    const shared: Model = {
      ...model,
      graph: {
        ...model.graph,
        nodes: [...model.graph.nodes, { name: 'tied', opType: 'Identity', domain: '', inputs: ['lm_head.weight'], outputs: ['tied_out'], attributes: {} }],
        outputs: [...model.graph.outputs, { name: 'tied_out', dtype: 'float32', shape: [16, 6] }],
      },
    };
    const { report } = await quantizeRtnInt8(shared, params(), quietContext());
    expect(report).toMatchObject({ layersQuantized: 1, skippedLayers: '/lm_head/MatMul' });
  });

  it('round-trips int8 weights through write/read and stores ~4x fewer weight bytes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rtn-int8-'));
    try {
      const { model } = buildMlp(128, 256, 128, 9);
      const { model: qm } = await quantizeRtnInt8(model, params(), quietContext());
      await writeModel(model, path.join(dir, 'fp32.onnx'), { externalData: true });
      await writeModel(qm, path.join(dir, 'int8.onnx'), { externalData: true });
      const back = await readModel(path.join(dir, 'int8.onnx'));
      for (const t of qm.graph.initializers) {
        const r = back.graph.initializers.find((u) => u.name === t.name)!;
        expect(r.dtype).toBe(t.dtype);
        expect(r.dims).toEqual(t.dims);
        expect(Buffer.from(r.raw).equals(Buffer.from(t.raw))).toBe(true);
      }
      const size = async (f: string) => (await stat(path.join(dir, f))).size + (await stat(path.join(dir, `${f}.data`))).size;
      const ratio = (await size('fp32.onnx')) / (await size('int8.onnx'));
      // Not exactly 4: per-column scales and 4 KiB alignment padding in the data file.
      expect(ratio).toBeGreaterThan(3.5);
      expect(ratio).toBeLessThan(4.01);
      // Quantizing the model read from disk (small weights inline at odd offsets) gives the same bytes.
      const fromDisk = await quantizeRtnInt8(await readModel(path.join(dir, 'fp32.onnx')), params(), quietContext());
      for (const t of qm.graph.initializers) {
        expect(Buffer.from(fromDisk.model.graph.initializers.find((u) => u.name === t.name)!.raw).equals(Buffer.from(t.raw))).toBe(true);
      }
      // The file read back still runs.
      const out = await run(back, { x: new ort.Tensor('float32', seededUniform(128, 1), [1, 128]) });
      expect(out.y!.length).toBe(128);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports progress per layer and stops with CanceledError when aborted', async () => {
    const { model } = buildMlp(8, 16, 6);
    const seen: number[] = [];
    await quantizeRtnInt8(model, params(), quietContext({ onProgress: (f) => seen.push(f) }));
    expect(seen).toEqual([0.5, 1, 1]);
    const ac = new AbortController();
    ac.abort();
    await expect(quantizeRtnInt8(model, params(), quietContext({ signal: ac.signal }))).rejects.toBeInstanceOf(CanceledError);
  });

  it('refuses models below opset 13', async () => {
    const { model } = buildMlp(4, 4, 4);
    await expect(quantizeRtnInt8({ ...model, opsetImports: [{ domain: '', version: 11 }] }, params(), quietContext())).rejects.toThrow(/opset >= 13/);
  });
});
