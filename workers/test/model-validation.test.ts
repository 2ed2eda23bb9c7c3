import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeModel, GraphBuilder, makeTensor, materializeModel, placeholderTensor, serializeModel, writeDeferredModel, writeModel, type DeferredModel, type Model, type TensorSource } from '@distillery/onnx';
import { buildDecoder, decoderPreset, initDecoderWeights, toTokenizerJson, trainBpe } from '@distillery/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeferredModel, checkModel, checkOnnxFile, checkTokenizer, finiteSources, ModelRejectedError } from '../src/model-validation';

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
  it('rejects broken graphs with the reason', () => {
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

  describe('an ONNX file checked from its graph, weights left in the file', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-onnx-file-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    /** The model with every weight's bytes a plain Uint8Array (protobuf decoding gives Buffers). */
    const plainBytes = (m: Model): Model => ({ ...m, graph: { ...m.graph, initializers: m.graph.initializers.map((t) => ({ ...t, raw: new Uint8Array(t.raw) })) } });

    const decoder = (): Model => {
      const c = decoderPreset('tiny');
      return buildDecoder(c, initDecoderWeights(c, 3, 0.2));
    };

    it('gives the summary of the whole model, and its weights read from their ranges are the file\'s', async () => {
      // The tiny model's one weight is deferred however small; the decoder's shape constants are read, its weights deferred.
      for (const [name, model, readBelow] of [['tiny', tinyModel(), 0], ['decoder', decoder(), 4096]] as const) {
        const file = path.join(dir, `${name}.onnx`);
        await writeModel(model, file);
        const whole = decodeModel(readFileSync(file));
        const { model: skimmed, summary } = await checkOnnxFile(file, { readBelow });
        expect(summary).toEqual(checkModel(whole));
        expect(skimmed.usesExternalData).toBe(false);
        const deferred = whole.graph.initializers.filter((t) => t.raw.byteLength >= readBelow && t.raw.byteLength > 0);
        expect(deferred.length).toBeGreaterThan(0);
        expect([...skimmed.ranges.keys()]).toEqual(deferred.map((t) => t.name));
        expect(skimmed.model.graph.initializers.every((t) => !skimmed.ranges.has(t.name) || t.raw.byteLength === 0)).toBe(true);
        expect(plainBytes(await materializeModel(skimmed))).toEqual(plainBytes(whole));
        // Written back a weight at a time, it is the same file.
        await writeDeferredModel(skimmed, path.join(dir, `${name}-again.onnx`));
        expect(Buffer.compare(readFileSync(path.join(dir, `${name}-again.onnx`)), readFileSync(file))).toBe(0);
      }
    });

    it('refuses a NaN or infinite weight naming the tensor and the element', async () => {
      for (const [poison, dtype, value] of [[Number.NaN, 'float32', 'NaN'], [-Infinity, 'float32', '-Infinity'], [Infinity, 'float16', 'Infinity']] as const) {
        const file = path.join(dir, `poisoned-${dtype}.onnx`);
        await writeModel(tinyModel(poison, dtype), file);
        const checked = checkOnnxFile(file, { readBelow: 0 });
        await expect(checked).rejects.toThrow(ModelRejectedError);
        await expect(checked).rejects.toThrow(`weight "model.layers.0.mlp.down_proj.weight" holds ${value} at element 5`);
      }
    });

    it('refuses a truncated or foreign file naming the file and the field', async () => {
      const bytes = serializeModel(decoder()).model;
      const cut = path.join(dir, 'cut.onnx');
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
      await expect(checkOnnxFile(cut)).rejects.toThrow(/^not a usable ONNX model: cut\.onnx: ModelProto\.graph at byte \d+ claims \d+ bytes, but the file ends at byte \d+ \(truncated or corrupt\)$/);
      writeFileSync(cut, bytes.subarray(0, 3));
      await expect(checkOnnxFile(cut, { label: 'the upload' })).rejects.toThrow(/^not a usable ONNX model: the upload: /);
      // A graph field whose initializer claims more than the graph holds: the initializer is named.
      const tensor = Buffer.from([0x0a, 0x01, 0x77, 0x10, 0x01, 0x4a, 0x10, 0, 0, 0, 0]);
      const graph = Buffer.concat([Buffer.from([0x2a, tensor.byteLength]), tensor]);
      writeFileSync(cut, Buffer.concat([Buffer.from([0x08, 0x08, 0x3a, graph.byteLength]), graph]));
      await expect(checkOnnxFile(cut)).rejects.toThrow(/cut\.onnx: GraphProto\.initializer\[0\]\.raw_data at byte \d+ claims 16 bytes, but the file ends at byte 17/);
      const foreign = path.join(dir, 'hello.onnx');
      writeFileSync(foreign, 'hello');
      await expect(checkOnnxFile(foreign)).rejects.toThrow(/^not a usable ONNX model: hello\.onnx: /);
    });

    it('refuses a weight whose raw_data is not its dims\' size, naming it', async () => {
      // TensorProto { name "w", data_type FLOAT, dims [2], raw_data 4 bytes }.
      const tensor = Buffer.from([0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x77, 0x4a, 0x04, 0, 0, 0, 0]);
      const graph = Buffer.concat([Buffer.from([0x2a, tensor.byteLength]), tensor]);
      const file = path.join(dir, 'short.onnx');
      writeFileSync(file, Buffer.concat([Buffer.from([0x08, 0x08, 0x3a, graph.byteLength]), graph]));
      await expect(checkOnnxFile(file)).rejects.toThrow('short.onnx: GraphProto.initializer[0] ("w").raw_data holds 4 bytes for float32[2] (expected 8)');
    });

    it('reads external data only from the given folder, and writes it inline a weight at a time', async () => {
      const folder = path.join(dir, 'external');
      const model = decoder();
      await writeModel(model, path.join(folder, 'model.onnx'), { externalData: { threshold: 64 } });
      await expect(checkOnnxFile(path.join(folder, 'model.onnx'))).rejects.toThrow(/uses external data \("model\.onnx\.data"\) but no model folder was given; upload a model with its weights inline/);
      const { model: skimmed, summary } = await checkOnnxFile(path.join(folder, 'model.onnx'), { dir: folder });
      expect(summary).toEqual(checkModel(model));
      expect(skimmed.usesExternalData).toBe(true);
      expect([...skimmed.ranges.values()].some((r) => r.file.endsWith('model.onnx.data'))).toBe(true);
      await writeDeferredModel(skimmed, path.join(dir, 'inlined.onnx'));
      expect(Buffer.compare(readFileSync(path.join(dir, 'inlined.onnx')), Buffer.from(serializeModel(model).model))).toBe(0);
    });
  });
});
