/**
 * GPT-2 folders as transformers writes them (Conv1D [in, out], fused qkv with bias, tied
 * head) become model folders whose logits match the slow reference forward within 1e-4 and
 * that transformers.js (local files only) loads and generates with as our session does.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformersGreedy } from '@distillery/e2e/transformers-greedy';
import { createDecoderSession, generate, gpt2ReferenceForward, initGpt2Weights, parseGpt2Config, runDecoder, type Gpt2Weights } from '@distillery/nn';
import { float16BitsToFloat32, float32ToFloat16Bits, readModel, type Model } from '@distillery/onnx';
import { convertHfFolder, exportGpt2Folder, writeConvertedModel } from '../src/index';

const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 61, hiddenSize: 24, nLayers: 2, nHeads: 3, ffnSize: 96, maxPositions: 40 });
const PROMPT = [4, 17, 33, 2, 58, 9, 11];
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-gpt2-folder-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function ours(model: Model): Promise<{ logits: Float32Array; greedy: number[] }> {
  const session = await createDecoderSession(model);
  try {
    return { logits: (await runDecoder(session, c, { inputIds: [PROMPT] })).logits.slice(), greedy: await generate(session, c, PROMPT, { maxNewTokens: 10 }) };
  } finally {
    await session.release();
  }
}

describe('GPT-2 safetensors folders', () => {
  it('F32: logits within 1e-4 of the reference forward; transformers.js generates our greedy tokens', async () => {
    const w = initGpt2Weights(c, 21);
    const source = path.join(root, 'hf-gpt2');
    await exportGpt2Folder(c, w, source);
    const converted = await convertHfFolder(source);
    const { report, config } = converted;
    expect(config).toEqual(c);
    // A model folder: the converted ONNX model and the config.json it ships.
    const out = path.join(root, 'gpt2-f32');
    await writeConvertedModel(converted, out);
    expect(report).toMatchObject({ format: 'safetensors', architecture: 'gpt2', dtypes: { F32: 2 + 12 * c.nLayers + 2 } });
    expect(report.parameters).toBe([...w.values()].reduce((n, v) => n + v.length, 0));
    const mine = await ours(await readModel(path.join(out, 'onnx', 'model.onnx')));
    expect(maxDiff(mine.logits, gpt2ReferenceForward(c, w, PROMPT).flat())).toBeLessThanOrEqual(1e-4);
    expect(await transformersGreedy(root, 'gpt2-f32', PROMPT, 10)).toEqual(mine.greedy);
  });

  it('F16 weights stay float16 in the model and transformers.js generates our greedy tokens; unsupported variants and a wrong tied head are refused naming the key', async () => {
    const w = initGpt2Weights(c, 22);
    const source = path.join(root, 'hf-gpt2-f16');
    await exportGpt2Folder(c, w, source, { dtype: 'F16' });
    const converted = await convertHfFolder(source);
    expect(converted.report.dtypes).toEqual({ F16: 2 + 12 * c.nLayers + 2 });
    // Stored as the Llama path stores 16-bit weights: float16 initializers, Cast to float32.
    expect(converted.weightDtype).toBe('float16');
    expect(converted.hfConfig).toMatchObject({ torch_dtype: 'float16' });
    const out = path.join(root, 'gpt2-f16');
    const bytes = await writeConvertedModel(converted, out);
    const model = await readModel(path.join(out, 'onnx', 'model.onnx'));
    expect(model.graph.initializers.filter((t) => t.dtype === 'float16').map((t) => t.name).sort()).toEqual([...w.keys()].sort());
    expect(model.graph.nodes.filter((n) => n.opType === 'Cast' && n.name.startsWith('/weights/')).length).toBe(w.size);
    // Two bytes a weight: half what the float32 model stores.
    const weightBytes = model.graph.initializers.filter((t) => w.has(t.name)).reduce((n, t) => n + t.raw.byteLength, 0);
    expect(weightBytes).toBe(2 * [...w.values()].reduce((n, v) => n + v.length, 0));
    expect(bytes).toBe((await stat(path.join(out, 'onnx', 'model.onnx'))).size);
    const rounded: Gpt2Weights = new Map([...w].map(([k, v]) => [k, v.map((x) => float16BitsToFloat32(float32ToFloat16Bits(x)))]));
    const mine = await ours(model);
    expect(maxDiff(mine.logits, gpt2ReferenceForward(c, rounded, PROMPT).flat())).toBeLessThanOrEqual(1e-4);
    expect(await transformersGreedy(root, 'gpt2-f16', PROMPT, 10)).toEqual(mine.greedy);

    const json = JSON.parse(await readFile(path.join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(path.join(source, 'config.json'), JSON.stringify({ ...json, activation_function: 'relu' }));
    await expect(convertHfFolder(source)).rejects.toThrow('config.json: activation_function: "relu" is not supported (gelu_new, the tanh GELU, is)');
    await writeFile(path.join(source, 'config.json'), JSON.stringify({ ...json, n_layer: 3 }));
    await expect(convertHfFolder(source)).rejects.toThrow('model.safetensors: transformer.h.2.ln_1.weight: missing (config.json describes 3 GPT-2 layers)');
  });
});
