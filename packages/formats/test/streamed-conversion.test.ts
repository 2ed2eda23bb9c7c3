/**
 * Conversions write their ONNX file one weight at a time (writeConvertedModel): the file must
 * be byte for byte the model the converter describes, materialized and written whole, ORT
 * must give the same logits from it, and a weight refused while streaming leaves no model file.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoderSession, decoderPreset, initDecoderWeights, initGpt2Weights, parseGpt2Config, runDecoder, type DecoderShape } from '@distillery/nn';
import { materializeModel, readModel, writeModel, type Model } from '@distillery/onnx';
import { readModelFolder, referenceModelDir, writeModelFolder } from '@distillery/reference';
import { convertGguf, convertHfFolder, convertLlama2c, exportGguf, exportGpt2Folder, exportHfFolder, readLlama2c, writeConvertedModel, writeLlama2c, type ConvertedModel } from '../src/index';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-streamed-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PROMPT = [3, 17, 42, 5, 9, 30, 1];

async function logits(model: Model, config: DecoderShape): Promise<Float32Array> {
  const session = await createDecoderSession(model);
  try {
    return (await runDecoder(session, config, { inputIds: [PROMPT] })).logits.slice();
  } finally {
    await session.release();
  }
}

/** Streams `converted` into a model folder and checks it against the whole-model writer and ORT. */
async function expectStreamedEqualsWhole(converted: ConvertedModel, name: string): Promise<Model> {
  const folder = path.join(root, name);
  const bytes = await writeConvertedModel(converted, folder);
  const streamed = path.join(folder, 'onnx', 'model.onnx');
  const wholeFile = path.join(root, `${name}-whole.onnx`);
  const whole = await materializeModel(converted.onnx);
  await writeModel(whole, wholeFile);
  const [a, b] = await Promise.all([readFile(streamed), readFile(wholeFile)]);
  expect(a.byteLength).toBe(bytes);
  expect(a.byteLength).toBe(b.byteLength);
  expect(Buffer.compare(a, b)).toBe(0);
  const fromFile = await readModel(streamed);
  const [x, y] = [await logits(fromFile, converted.config), await logits(whole, converted.config)];
  expect(x.length).toBe(PROMPT.length * converted.config.vocabSize);
  expect(x.every(Number.isFinite)).toBe(true);
  expect([...x]).toEqual([...y]);
  return fromFile;
}

describe('streamed conversion', () => {
  it('safetensors F16, sharded: the streamed file is the whole model, float16 storage, same logits', async () => {
    const config = decoderPreset('tiny', { nKvHeads: 1 });
    const dir = path.join(root, 'hf-f16');
    await exportHfFolder(config, initDecoderWeights(config, 3, 0.2), dir, { dtype: 'F16', maxShardBytes: 20_000 });
    const converted = await convertHfFolder(dir);
    expect(converted.weightDtype).toBe('float16');
    const model = await expectStreamedEqualsWhole(converted, 'hf-f16-out');
    expect(model.graph.initializers.filter((t) => t.dtype === 'float16').length).toBe(converted.onnx.sources.size);
  });

  it('GPT-2 F16, GGUF Q8_0 and GGUF F16: the streamed file is the whole model, same logits', async () => {
    const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 61, hiddenSize: 24, nLayers: 2, nHeads: 3, ffnSize: 96, maxPositions: 40 });
    const gpt2 = path.join(root, 'gpt2-f16');
    await exportGpt2Folder(c, initGpt2Weights(c, 8), gpt2, { dtype: 'F16' });
    await expectStreamedEqualsWhole(await convertHfFolder(gpt2), 'gpt2-f16-out');

    const ref = await readModelFolder(referenceModelDir());
    const folder = path.join(root, 'small-folder');
    const cfg = decoderPreset('tiny', { vocabSize: ref.config.vocabSize });
    await writeModelFolder(folder, { config: cfg, weights: initDecoderWeights(cfg, 4, 0.2), tokenizer: ref.tokenizer, weightDtype: 'float32' });
    const file = path.join(root, 'small-q8_0.gguf');
    await exportGguf(folder, file, 'q8_0');
    const converted = await convertGguf(file);
    expect(converted.weightDtype).toBe('float32');
    await expectStreamedEqualsWhole(converted, 'gguf-q8_0-out');

    // F16 with norms float16 holds exactly: float16 storage, the bits moved without widening.
    const halfFolder = path.join(root, 'small-f16-folder');
    await writeModelFolder(halfFolder, { config: cfg, weights: initDecoderWeights(cfg, 6, 0.2), tokenizer: ref.tokenizer, weightDtype: 'float16' });
    const halfFile = path.join(root, 'small-f16.gguf');
    await exportGguf(halfFolder, halfFile, 'f16');
    const half = await convertGguf(halfFile);
    expect(half.weightDtype).toBe('float16');
    const model = await expectStreamedEqualsWhole(half, 'gguf-f16-out');
    const original = (await readModelFolder(halfFolder)).model;
    // The same float16 weights in the same layout (q/k rows permuted back): the same initializer bytes.
    const byName = new Map(original.graph.initializers.map((t) => [t.name, t]));
    for (const name of half.onnx.sources.keys()) expect(Buffer.compare(model.graph.initializers.find((t) => t.name === name)!.raw, byName.get(name)!.raw), name).toBe(0);
    expect([...(await logits(model, cfg))]).toEqual([...(await logits(original, cfg))]);
  });

  it('a NaN met while streaming fails the write naming file and tensor, and leaves no model file', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 5);
    weights.get('model.layers.1.mlp.up_proj.weight')![9] = Number.NaN;
    const dir = path.join(root, 'hf-nan');
    await exportHfFolder(config, weights, dir, { dtype: 'F16' });
    const converted = await convertHfFolder(dir);
    const out = path.join(root, 'hf-nan-out');
    await expect(writeConvertedModel(converted, out)).rejects.toThrow(/^model\.safetensors: model\.layers\.1\.mlp\.up_proj\.weight: holds NaN at element \d+; weights must be finite$/);
    await expect(stat(path.join(out, 'onnx', 'model.onnx'))).rejects.toThrow(/ENOENT/);
  });

  it('llama2.c: weights are read from the checkpoint as the file is written, equal to reading them all first', async () => {
    const config = decoderPreset('tiny', { tieEmbeddings: false });
    const weights = initDecoderWeights(config, 9, 0.2);
    const file = path.join(root, 'stream.bin');
    await writeLlama2c(file, config, weights);
    const converted = await convertLlama2c(file, { tokenizerFile: null });
    // Every weight is a source read while writing, none held by the converted model.
    expect(converted.onnx.sources.size).toBe(weights.size);
    expect(converted.onnx.model.graph.initializers.filter((t) => converted.onnx.sources.has(t.name)).every((t) => t.raw.byteLength === 0)).toBe(true);
    const model = await expectStreamedEqualsWhole(converted, 'llama2c-out');
    const read = await readLlama2c(file);
    for (const [name, values] of read.weights) {
      const t = model.graph.initializers.find((i) => i.name === name)!;
      expect(Buffer.compare(Buffer.from(t.raw), Buffer.from(values.buffer, values.byteOffset, values.byteLength)), name).toBe(0);
    }

    // A bad weight is found when it is read for writing: the conversion itself read only the header.
    weights.get('model.layers.1.self_attn.v_proj.weight')![3] = Number.POSITIVE_INFINITY;
    const bad = path.join(root, 'stream-inf.bin');
    await writeLlama2c(bad, config, weights);
    const lazy = await convertLlama2c(bad, { tokenizerFile: null });
    const out = path.join(root, 'llama2c-inf-out');
    await expect(writeConvertedModel(lazy, out)).rejects.toThrow(/^stream-inf\.bin: wv\[layer 1\]: holds Infinity at element \d+; weights must be finite$/);
    await expect(stat(path.join(out, 'onnx', 'model.onnx'))).rejects.toThrow(/ENOENT/);
  });
});
