import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder, makeTensor, placeholderTensor, serializeModel, writeDeferredModel, type DeferredModel, type Model, type TensorSource } from '@distillery/onnx';
import { toTokenizerJson, trainBpe } from '@distillery/nn';
import { describe, expect, it } from 'vitest';
import { checkDeferredModel, checkModel, checkTokenizer, decodeForImport, finiteSources, ModelRejectedError } from '../src/model-validation';

/** y = x @ W with an Optimum-style node name; `poison` puts a value into W. */
function tinyModel(poison?: number, dtype: 'float32' | 'float16' = 'float32') {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, 4]);
  const values = Float32Array.from({ length: 12 }, (_, i) => (i % 7) / 7 - 0.5);
  if (poison !== undefined) values[5] = poison;
  const w =
    dtype === 'float32'
      ? b.initializer('model.layers.0.mlp.down_proj.weight', 'float32', [4, 3], values)
      : b.initializer('model.layers.0.mlp.down_proj.weight', 'float16', [4, 3], Uint16Array.from(values, (v) => (Number.isNaN(v) ? 0x7e00 : v === Infinity ? 0x7c00 : 0x3c00)));
  const wf = dtype === 'float32' ? w : b.op('Cast', [w], { to: { type: 'int', value: 1 } });
  const y = b.op('MatMul', [x, wf], {}, { name: '/model/layers.0/mlp/down_proj/MatMul', output: 'y' });
  b.output(y, 'float32', [1, 3]);
  return b.toModel();
}

/** The model with its weight W left to a source, as a converter hands it over; `reads` counts the source's reads. */
function deferred(model: Model): { d: DeferredModel; reads: () => number } {
  const w = model.graph.initializers.find((t) => t.name === 'model.layers.0.mlp.down_proj.weight')!;
  let reads = 0;
  const source: TensorSource = {
    dtype: w.dtype,
    dims: w.dims,
    read: async () => {
      reads++;
      return w.raw;
    },
  };
  const initializers = model.graph.initializers.map((t) => (t === w ? placeholderTensor(t.name, source) : t));
  return { d: { model: { ...model, graph: { ...model.graph, initializers } }, sources: new Map([[w.name, source]]) }, reads: () => reads };
}

describe('model validation (worker side of an import)', () => {
  it('accepts a real model and counts its parameters', () => {
    const { model, usesExternalData } = decodeForImport(serializeModel(tinyModel()).model);
    expect(usesExternalData).toBe(false);
    expect(checkModel(model)).toMatchObject({ parameterCount: 12, nodeCount: 1 });
  });

  it('rejects non-models and broken graphs with the reason', () => {
    expect(() => decodeForImport(new TextEncoder().encode('hello'))).toThrow(ModelRejectedError);
    const b = new GraphBuilder('broken');
    const x = b.input('x', 'float32', [1, 2]);
    b.output(b.op('MatMul', [x, 'nowhere'], {}, { output: 'y' }), 'float32', [1, 2]);
    expect(() => checkModel(b.toModel())).toThrow(/the graph is invalid: .*nowhere/);
    const empty = new GraphBuilder('empty').toModel();
    expect(() => checkModel(empty)).toThrow(/no nodes/);
  });

  it('refuses NaN and infinite weights naming the tensor and the element, in float32 and float16', () => {
    expect(() => checkModel(tinyModel(Number.NaN))).toThrow('weight "model.layers.0.mlp.down_proj.weight" holds NaN at element 5');
    expect(() => checkModel(tinyModel(-Infinity))).toThrow('holds -Infinity at element 5');
    expect(() => checkModel(tinyModel(Number.NaN, 'float16'))).toThrow('weight "model.layers.0.mlp.down_proj.weight" holds NaN at element 5');
    expect(() => checkModel(tinyModel(Infinity, 'float16'))).toThrow('holds Infinity at element 5');
    const m = tinyModel();
    m.graph.initializers.push(makeTensor('model.norm.weight', 'float32', [2], Float32Array.from([1, Number.NaN])));
    expect(() => checkModel(m)).toThrow(/"model\.norm\.weight" holds NaN at element 1/);
  });

  it('checks a tokenizer.json, naming the field', () => {
    const tok = trainBpe(['the whale and the sea'], { vocabSize: 262 });
    expect(() => checkTokenizer(JSON.stringify(toTokenizerJson(tok)), 'tokenizerSha256')).not.toThrow();
    expect(() => checkTokenizer('{"model": {"type": "WordPiece"}}', 'tokenizerSha256')).toThrow(/^tokenizerSha256: not a usable tokenizer\.json/);
    expect(() => checkTokenizer('not json', 'tokenizerSha256')).toThrow(ModelRejectedError);
  });

  it('checks a converted model without reading its deferred weights, with the same summary as the whole model', () => {
    const { d, reads } = deferred(tinyModel());
    expect(checkDeferredModel(d)).toEqual(checkModel(tinyModel()));
    expect(reads()).toBe(0);
    // A placeholder is not a size error, but a complete tensor of the wrong size still is.
    const broken = { ...d.model, graph: { ...d.model.graph, initializers: [...d.model.graph.initializers, { name: 'extra', dtype: 'float32' as const, dims: [2], raw: new Uint8Array(4) }] } };
    expect(() => checkDeferredModel({ model: broken, sources: d.sources })).toThrow(/initializer "extra": 4 bytes/);
    expect(() => checkDeferredModel({ model: { ...d.model, graph: { ...d.model.graph, outputs: [] } }, sources: d.sources })).toThrow(/no outputs/);
  });

  it('refuses a deferred NaN or infinite weight as it is written, naming the tensor, and leaves no file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-finite-'));
    try {
      for (const [poison, dtype, value] of [[Number.NaN, 'float32', 'NaN'], [Infinity, 'float16', 'Infinity']] as const) {
        const file = path.join(dir, `${dtype}.onnx`);
        const { d } = deferred(tinyModel(poison, dtype));
        // The graph alone passes: the weight is only seen when written.
        expect(checkDeferredModel(d).parameterCount).toBe(12);
        const written = writeDeferredModel(finiteSources(d), file);
        await expect(written).rejects.toThrow(ModelRejectedError);
        await expect(written).rejects.toThrow(`weight "model.layers.0.mlp.down_proj.weight" holds ${value} at element 5`);
        expect(existsSync(file)).toBe(false);
      }
      // A finite model writes the same bytes through the checking sources.
      const file = path.join(dir, 'ok.onnx');
      await writeDeferredModel(finiteSources(deferred(tinyModel()).d), file);
      expect(Buffer.compare(readFileSync(file), Buffer.from(serializeModel(tinyModel()).model))).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
