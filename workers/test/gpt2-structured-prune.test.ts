/**
 * Structured pruning of a GPT-2 imported from a safetensors folder (F16, as transformers
 * saves one): FFN channels then a block, the model folder written with the config.json the
 * worker writes for it, and transformers.js (local files only) loading that folder and
 * generating the greedy tokens our session generates.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transformersGreedy } from '@distillery/e2e/transformers-greedy';
import { convertHfFolder, exportGpt2Folder, writeConvertedModel } from '@distillery/formats';
import { createDecoderSession, generate, gpt2BlockPrefix, gpt2ReferenceForward, gpt2WeightsFromModel, initGpt2Weights, parseGpt2Config, readGpt2Config, runDecoder, toGpt2HfConfig, type Gpt2Config } from '@distillery/nn';
import { readModel, writeModel, type Model } from '@distillery/onnx';
import { quietContext, registry } from '@distillery/techniques';

const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 61, hiddenSize: 24, nLayers: 3, nHeads: 3, ffnSize: 96, maxPositions: 40 });
const PROMPT = [4, 17, 33, 2, 58, 9, 11];
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-gpt2-prune-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function apply(id: string, model: Model, params: unknown): Promise<Model> {
  const t = registry.get(id);
  const sequences = [0, 1].map((s) => Int32Array.from({ length: 20 }, (_, i) => (i * 7 + s * 13) % c.vocabSize));
  return (await t.apply(model, t.params.parse(params), quietContext({ calibration: { sequences } }))).model;
}

async function ours(model: Model, config: Gpt2Config): Promise<{ logits: Float32Array; greedy: number[] }> {
  const session = await createDecoderSession(model);
  try {
    return { logits: (await runDecoder(session, config, { inputIds: [PROMPT] })).logits.slice(), greedy: await generate(session, config, PROMPT, { maxNewTokens: 10 }) };
  } finally {
    await session.release();
  }
}

describe('structured pruning of an imported GPT-2', () => {
  it('FFN channels and a block go; the folder with its new config.json loads in transformers.js and generates our greedy tokens', async () => {
    const w = initGpt2Weights(c, 31);
    // A quarter of every MLP's channels are dead (zero c_fc column and bias), so they are the ones pruned.
    for (let i = 0; i < c.nLayers; i++) {
      const fc = w.get(`${gpt2BlockPrefix(i)}.mlp.c_fc.weight`)!;
      for (let r = 0; r < c.hiddenSize; r++) fc.fill(0, r * c.ffnSize + 72, (r + 1) * c.ffnSize);
      w.get(`${gpt2BlockPrefix(i)}.mlp.c_fc.bias`)!.fill(0, 72);
    }
    const source = path.join(root, 'hf-gpt2');
    await exportGpt2Folder(c, w, source, { dtype: 'F16' });
    const imported = path.join(root, 'imported');
    await writeConvertedModel(await convertHfFolder(source), imported);
    const model = await readModel(path.join(imported, 'onnx', 'model.onnx'));
    const before = await ours(model, c);

    const narrow = await apply('prune.ffn-channels', model, { ratio: 0.25 });
    expect(readGpt2Config(narrow)!.ffnSize).toBe(72);
    const narrowOut = await ours(narrow, readGpt2Config(narrow)!);
    // Only dead channels went: the same function up to float rounding.
    expect(narrowOut.greedy).toEqual(before.greedy);
    expect(Math.max(...narrowOut.logits.map((v, i) => Math.abs(v - before.logits[i]!)))).toBeLessThan(1e-4);

    const pruned = await apply('prune.blocks', narrow, { blocks: [1] });
    const pc = readGpt2Config(pruned)!;
    const hf = toGpt2HfConfig(pc);
    expect(hf).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_inner: 72, n_head: 3, n_embd: 24 });
    // float16 storage is kept.
    const read = gpt2WeightsFromModel(pruned);
    expect(read.weightDtype).toBe('float16');
    const mine = await ours(pruned, pc);
    const ref = gpt2ReferenceForward(pc, read.weights, PROMPT).flat();
    expect(mine.logits.length).toBe(ref.length);
    expect(Math.max(...mine.logits.map((v, i) => Math.abs(v - ref[i]!)))).toBeLessThan(1e-4);

    const folder = path.join(root, 'pruned');
    await mkdir(path.join(folder, 'onnx'), { recursive: true });
    await writeModel(pruned, path.join(folder, 'onnx', 'model.onnx'));
    await writeFile(path.join(folder, 'config.json'), JSON.stringify(hf, null, 2));
    expect(await transformersGreedy(root, 'pruned', PROMPT, 10)).toEqual(mine.greedy);
  });
});
