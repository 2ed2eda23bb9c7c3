import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmax, buildDecoder, createDecoderSession, decoderPreset, generate, initDecoderWeights, logitsAt, runDecoder, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { bfloat16BitsToFloat32, float32ToBfloat16Bits, float16BitsToFloat32, float32ToFloat16Bits, readModel, type Model } from '@distillery/onnx';
import { convertHfFolder, exportHfFolder, importHfFolder, SafetensorsReader, writeConvertedModel, type ConvertedModel } from '../src/index';

/* Our decoder out to a Hugging Face safetensors folder and back: same weights, same logits, same greedy tokens. */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-safetensors-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PROMPT = [3, 17, 42, 5, 9, 60, 1];

async function logitsOf(config: DecoderConfig, weights: DecoderWeights): Promise<Float32Array> {
  const session = await createDecoderSession(buildDecoder(config, weights));
  const out = await runDecoder(session, config, { inputIds: [PROMPT] });
  await session.release();
  return out.logits;
}

/** The converted model as the import writes it: streamed into a model folder beside the source, read back. */
async function writtenModel(converted: ConvertedModel, source: string): Promise<Model> {
  const out = `${source}-converted`;
  await writeConvertedModel(converted, out);
  return readModel(path.join(out, 'onnx', 'model.onnx'));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const roundTo = (dtype: 'F16' | 'BF16', w: Float32Array): Float32Array =>
  w.map((x) => (dtype === 'F16' ? float16BitsToFloat32(float32ToFloat16Bits(x)) : bfloat16BitsToFloat32(float32ToBfloat16Bits(x))));

describe('safetensors round trip', () => {
  it('F32, untied, grouped-query attention: identical weights, logits within 1e-4, equal greedy tokens', async () => {
    const config = decoderPreset('tiny');
    expect(config.nKvHeads).toBeLessThan(config.nHeads);
    const weights = initDecoderWeights(config, 7);
    const dir = path.join(root, 'f32');
    await exportHfFolder(config, weights, dir);
    const back = await importHfFolder(dir);
    expect(back.config).toEqual(config);
    expect(back.dtypes).toEqual({ F32: weights.size });
    for (const [name, w] of weights) expect(back.weights.get(name), name).toEqual(w);
    const [a, b] = [await logitsOf(config, weights), await logitsOf(back.config, back.weights)];
    expect(maxDiff(a, b)).toBeLessThanOrEqual(1e-4);

    const converted = await convertHfFolder(dir);
    const sessions = [await createDecoderSession(buildDecoder(config, weights)), await createDecoderSession(await writtenModel(converted, dir))];
    const [mine, theirs] = await Promise.all(sessions.map((s) => generate(s, config, PROMPT, { maxNewTokens: 12 })));
    expect(theirs).toEqual(mine);
    expect(converted.report).toMatchObject({ format: 'safetensors', architecture: 'llama', parameters: [...weights.values()].reduce((n, w) => n + w.length, 0) });
  });

  it('stores linear weights as Hugging Face does ([out, in], q/k rows unpermuted: rotate_half pairs i with i + head_dim/2)', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 8);
    const dir = path.join(root, 'layout');
    await exportHfFolder(config, weights, dir);
    const reader = await SafetensorsReader.open(path.join(dir, 'model.safetensors'));
    const q = await reader.readFloat32('model.layers.0.self_attn.q_proj.weight');
    const head = await reader.readFloat32('lm_head.weight');
    const ours = weights.get('model.layers.0.self_attn.q_proj.weight')!;
    const outDim = config.nHeads * config.headDim;
    // HF row r (output feature r) is our column r, for every r: no interleaving of the rotary halves.
    for (let r = 0; r < outDim; r++) for (let i = 0; i < config.hiddenSize; i++) expect(q[r * config.hiddenSize + i]).toBe(ours[i * outDim + r]);
    expect(head[5 * config.hiddenSize + 2]).toBe(weights.get('lm_head.weight')![2 * config.vocabSize + 5]);
  });

  it('F16 and BF16, tied embeddings, sharded with an index: weights equal after the format rounding, logits agree', async () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const config = decoderPreset('tiny', { tieEmbeddings: true, nKvHeads: 1 });
      const weights = initDecoderWeights(config, 9);
      const dir = path.join(root, `sharded-${dtype}`);
      const written = await exportHfFolder(config, weights, dir, { dtype, maxShardBytes: 8_000 });
      expect(written.files).toContain('model.safetensors.index.json');
      expect(written.files.length).toBeGreaterThan(3);
      const back = await importHfFolder(dir);
      expect(back.config.tieEmbeddings).toBe(true);
      expect(back.weights.has('lm_head.weight')).toBe(false);
      const rounded: DecoderWeights = new Map([...weights].map(([n, w]) => [n, roundTo(dtype, w)]));
      for (const [name, w] of rounded) expect(back.weights.get(name), `${dtype} ${name}`).toEqual(w);
      expect(maxDiff(await logitsOf(config, rounded), await logitsOf(back.config, back.weights))).toBeLessThanOrEqual(1e-4);
      const converted = await convertHfFolder(dir);
      const model = await writtenModel(converted, dir);
      expect(model.graph.initializers.some((t) => t.dtype === 'float16')).toBe(true);
      const session = await createDecoderSession(model);
      const out = await runDecoder(session, config, { inputIds: [PROMPT] });
      const ref = await logitsOf(config, rounded);
      // BF16 values are exact in float16 here (the weights are small), so the model equals the rounded weights.
      expect(maxDiff(out.logits, ref)).toBeLessThanOrEqual(1e-4);
      expect(argmax(logitsAt(out, config, 0, PROMPT.length - 1))).toBe(argmax(ref.subarray((PROMPT.length - 1) * config.vocabSize)));
    }
  });

  it('reads config.json for the shape, rope theta and norm epsilon; Mistral converts with a sliding-window warning', async () => {
    const config = decoderPreset('tiny', { ropeTheta: 500000, normEps: 1e-5 });
    const weights = initDecoderWeights(config, 10);
    const dir = path.join(root, 'mistral');
    await exportHfFolder(config, weights, dir, { configOverrides: { model_type: 'mistral', architectures: ['MistralForCausalLM'], sliding_window: 32 } });
    const hf = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect([hf.rope_theta, hf.rms_norm_eps]).toEqual([500000, 1e-5]);
    const back = await importHfFolder(dir);
    expect(back.architecture).toBe('mistral');
    expect([back.config.ropeTheta, back.config.normEps]).toEqual([500000, 1e-5]);
    expect(back.warnings.join('\n')).toMatch(/sliding_window 32 is below max_position_embeddings 64/);
  });
});

describe('Qwen2 (q/k/v biases)', () => {
  it('converts a qwen2 folder: biases read, logits equal the reference forward within 1e-4', async () => {
    const { referenceForward } = await import('@distillery/nn');
    const config = decoderPreset('tiny', { qkvBias: true, tieEmbeddings: true });
    const weights = initDecoderWeights(config, 11);
    const dir = path.join(root, 'qwen2');
    await exportHfFolder(config, weights, dir, { dtype: 'F32' });
    const hf = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    expect(hf.model_type).toBe('qwen2');
    const converted = await convertHfFolder(dir);
    expect(converted.report.architecture).toBe('qwen2');
    expect(converted.config).toMatchObject({ arch: 'llama', qkvBias: true });
    const session = await createDecoderSession(await writtenModel(converted, dir));
    const out = await runDecoder(session, config, { inputIds: [PROMPT] });
    const slow = referenceForward(config, weights, [PROMPT]).logits[0].flat();
    expect(maxDiff(out.logits, Float32Array.from(slow))).toBeLessThanOrEqual(1e-4);
    // The biases matter: without them the logits move.
    const zeroed = new Map(weights);
    for (const role of ['q', 'k', 'v']) zeroed.set(`model.layers.0.self_attn.${role}_proj.bias`, new Float32Array(weights.get(`model.layers.0.self_attn.${role}_proj.bias`)!.length));
    expect(maxDiff(out.logits, Float32Array.from(referenceForward(config, zeroed, [PROMPT]).logits[0].flat()))).toBeGreaterThan(1e-3);
  });
});

describe('16-bit weights', () => {
  it('keeps a BF16 model in float32 when a weight is beyond float16 range, and says so', async () => {
    const config = decoderPreset('tiny');
    const weights = initDecoderWeights(config, 12);
    weights.get('model.layers.1.mlp.up_proj.weight')![7] = 1e6;
    const dir = path.join(root, 'bf16-wide');
    await exportHfFolder(config, weights, dir, { dtype: 'BF16' });
    const converted = await convertHfFolder(dir);
    const model = await writtenModel(converted, dir);
    expect(model.graph.initializers.some((t) => t.dtype === 'float16')).toBe(false);
    expect(converted.report.warnings.join()).toMatch(/model\.layers\.1\.mlp\.up_proj\.weight holds 999424, beyond float16's range, so the model is kept in float32/);
    const rounded: DecoderWeights = new Map([...weights].map(([n, w]) => [n, roundTo('BF16', w)]));
    const session = await createDecoderSession(model);
    const out = await runDecoder(session, config, { inputIds: [PROMPT] });
    expect(maxDiff(out.logits, await logitsOf(config, rounded))).toBeLessThanOrEqual(1e-4);
  });
});
