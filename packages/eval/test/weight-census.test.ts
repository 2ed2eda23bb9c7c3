import { describe, expect, it } from 'vitest';
import { buildDecoder, parameterCount as configParameterCount } from '@distillery/nn';
import { attr, elementCount, inspectModel, makeTensor, tensorFromNumbers, type Model } from '@distillery/onnx';
import { PeakRss, weightCensus } from '../src';
import { tinyDecoder } from './tiny-decoder';

/** One linear layer's float32 weight replaced by int8 data + per-column scales through DequantizeLinear. */
function quantizeOneLayer(model: Model): { model: Model; weights: number; scaleBytes: number } {
  const layer = inspectModel(model).linearLayers.find((l) => l.opType === 'MatMul' && l.dtype === 'float32')!;
  const w = model.graph.initializers.find((t) => t.name === layer.weight)!;
  const n = elementCount(w.dims);
  const q = makeTensor(`${w.name}_q`, 'int8', w.dims, Int8Array.from({ length: n }, (_, i) => (i % 255) - 127));
  const scale = makeTensor(`${w.name}_scale`, 'float32', [layer.outFeatures], new Float32Array(layer.outFeatures).fill(0.01));
  const nodes = model.graph.nodes.map((node) =>
    node.name === layer.node ? { ...node, inputs: node.inputs.map((i) => (i === w.name ? `${w.name}_dq` : i)) } : node,
  );
  const dq = { name: `${w.name}/DequantizeLinear`, opType: 'DequantizeLinear', domain: '', inputs: [q.name, scale.name], outputs: [`${w.name}_dq`], attributes: { axis: attr.int(1) } };
  return {
    model: { ...model, graph: { ...model.graph, nodes: [dq, ...nodes], initializers: [...model.graph.initializers.filter((t) => t !== w), q, scale] } },
    weights: n,
    scaleBytes: layer.outFeatures * 4,
  };
}

/** One linear layer's weight replaced by uint8 indices into a 16-entry float codebook, expanded by Cast + Gather. */
function palettizeOneLayer(model: Model, halfCodebook = false): { model: Model; weights: number } {
  const layer = inspectModel(model).linearLayers.find((l) => l.opType === 'MatMul' && l.dtype === 'float32')!;
  const w = model.graph.initializers.find((t) => t.name === layer.weight)!;
  const n = elementCount(w.dims);
  const idx = makeTensor(`${w.name}_indices`, 'uint8', w.dims, Uint8Array.from({ length: n }, (_, i) => i % 16));
  const values = Float32Array.from({ length: 16 }, (_, i) => (i - 8) / 100);
  const book = tensorFromNumbers(`${w.name}_codebook`, halfCodebook ? 'float16' : 'float32', [16], values);
  const table = halfCodebook ? `${w.name}_codebook_f32` : book.name;
  const castBook = { name: `${w.name}/CastBook`, opType: 'Cast', domain: '', inputs: [book.name], outputs: [table], attributes: { to: attr.int(1) } };
  const nodes = model.graph.nodes.map((node) =>
    node.name === layer.node ? { ...node, inputs: node.inputs.map((i) => (i === w.name ? `${w.name}_expanded` : i)) } : node,
  );
  const cast = { name: `${w.name}/Cast`, opType: 'Cast', domain: '', inputs: [idx.name], outputs: [`${w.name}_i32`], attributes: { to: attr.int(6) } };
  const gather = { name: `${w.name}/Gather`, opType: 'Gather', domain: '', inputs: [table, `${w.name}_i32`], outputs: [`${w.name}_expanded`], attributes: { axis: attr.int(0) } };
  return {
    model: { ...model, graph: { ...model.graph, nodes: [...(halfCodebook ? [castBook] : []), cast, gather, ...nodes], initializers: [...model.graph.initializers.filter((t) => t !== w), idx, book] } },
    weights: n,
  };
}

describe('weightCensus', () => {
  const tiny = tinyDecoder(1);
  const expected = configParameterCount(tiny.config);

  it('counts exactly the learned weights: not the RoPE tables or shape constants inspection counts', () => {
    const c = weightCensus(tiny.model);
    expect(c.weightParameters).toBe(expected);
    expect(inspectModel(tiny.model).parameterCount).toBeGreaterThan(expected);
    expect(c.tables).toEqual(['cos_cached', 'sin_cached']);
    expect(c.scaleBytes).toBe(0);
    expect(c.weightBytes).toBe(expected * 4);
    expect(c.bitsPerWeight).toBe(32);
  });

  it('float16 storage halves bits per weight and keeps the count', () => {
    const c = weightCensus(buildDecoder(tiny.config, tiny.weights, { weightDtype: 'float16' }));
    expect(c.weightParameters).toBe(expected);
    expect(c.bitsPerWeight).toBe(16);
  });

  it('counts int8 weights once and reports their scales separately', () => {
    const q = quantizeOneLayer(tiny.model);
    const c = weightCensus(q.model);
    expect(c.weightParameters).toBe(expected);
    expect(c.scaleBytes).toBe(q.scaleBytes);
    expect(c.weightBytes).toBe((expected - q.weights) * 4 + q.weights);
    expect(c.bitsPerWeight).toBeCloseTo(((c.weightBytes + q.scaleBytes) * 8) / expected, 12);
    expect(c.bitsPerWeight).toBeLessThan(32);
  });

  it('counts palettized weights one per stored index, the codebook with the scales (also a float16 codebook cast before its Gather)', () => {
    for (const half of [false, true]) {
      const p = palettizeOneLayer(tiny.model, half);
      const c = weightCensus(p.model);
      expect(c.weightParameters).toBe(expected);
      expect(c.scaleBytes).toBe(16 * (half ? 2 : 4));
      expect(c.weightBytes).toBe((expected - p.weights) * 4 + p.weights);
    }
  });
});

describe('PeakRss', () => {
  it('reports the highest sample over the starting level', () => {
    const readings = [100, 150, 130, 400, 120];
    let i = 0;
    const peak = new PeakRss(() => readings[Math.min(i++, readings.length - 1)]!);
    peak.sample();
    peak.sample();
    peak.sample();
    expect(peak.delta).toBe(300);
  });
});
