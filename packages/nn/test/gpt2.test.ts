/**
 * The GPT-2 graph against the slow reference forward (logits within 1e-4), its KV cache
 * against the full forward, greedy generation through the decoder session, and
 * transformers.js (local files only) on the same folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForCausalLM, Tensor, env } from '@huggingface/transformers';
import { writeModel } from '@distillery/onnx';
import { argmax, buildGpt2, createDecoderSession, generate, geluTanh, gpt2ReferenceForward, initGpt2Weights, parseGpt2Config, runDecoder, type DecoderSession } from '../src/index';

const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 53, hiddenSize: 16, nLayers: 2, nHeads: 4, ffnSize: 64, maxPositions: 32 });
const w = initGpt2Weights(c, 3);
const PROMPT = [5, 12, 40, 7, 50, 3];
let session: DecoderSession;
let root: string;

beforeAll(async () => {
  session = await createDecoderSession(buildGpt2(c, w));
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-gpt2-'));
});
afterAll(async () => {
  await session?.release();
  await rm(root, { recursive: true, force: true });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('GPT-2 graph', () => {
  it('gelu_new is the tanh approximation', () => {
    expect(geluTanh(0)).toBe(0);
    expect(geluTanh(1)).toBeCloseTo(0.841192, 6);
    expect(geluTanh(-3)).toBeCloseTo(-0.003637, 6);
  });

  it('computes the reference logits within 1e-4, and the same with a KV cache', async () => {
    const ref = gpt2ReferenceForward(c, w, PROMPT);
    const full = await runDecoder(session, c, { inputIds: [PROMPT] });
    expect(full.logits).toHaveLength(PROMPT.length * c.vocabSize);
    expect(maxDiff(full.logits, ref.flat())).toBeLessThanOrEqual(1e-4);
    const head = await runDecoder(session, c, { inputIds: [PROMPT.slice(0, 4)] });
    const tail = await runDecoder(session, c, { inputIds: [PROMPT.slice(4)], past: head.present });
    expect(maxDiff(tail.logits, ref.slice(4).flat())).toBeLessThanOrEqual(1e-4);
  });

  it('generates the reference greedy tokens', async () => {
    const ids = [...PROMPT];
    for (let k = 0; k < 8; k++) ids.push(argmax(gpt2ReferenceForward(c, w, ids).at(-1)!));
    expect(await generate(session, c, PROMPT, { maxNewTokens: 8 })).toEqual(ids.slice(PROMPT.length));
  });

  it('transformers.js loads the folder and computes the same logits', async () => {
    const dir = path.join(root, 'tiny-gpt2');
    await mkdir(path.join(dir, 'onnx'), { recursive: true });
    await writeModel(buildGpt2(c, w), path.join(dir, 'onnx', 'model.onnx'));
    const hf = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: c.vocabSize, n_embd: c.hiddenSize, n_layer: c.nLayers, n_head: c.nHeads, n_inner: c.ffnSize, n_positions: c.maxPositions, layer_norm_epsilon: c.normEps, activation_function: 'gelu_new', tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0 };
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(hf));
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = root;
    const theirs = await AutoModelForCausalLM.from_pretrained('tiny-gpt2', { dtype: 'fp32', device: 'cpu' });
    try {
      const i64 = (v: number[]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
      const out = (await theirs({ input_ids: i64(PROMPT), attention_mask: i64(PROMPT.map(() => 1)) })) as { logits: Tensor };
      expect(maxDiff(out.logits.data as Float32Array, gpt2ReferenceForward(c, w, PROMPT).flat())).toBeLessThanOrEqual(1e-4);
      const gen = (await theirs.generate({ input_ids: i64(PROMPT), attention_mask: i64(PROMPT.map(() => 1)), max_new_tokens: 8, do_sample: false })) as Tensor;
      expect((gen.tolist() as bigint[][])[0]!.slice(PROMPT.length).map(Number)).toEqual(await generate(session, c, PROMPT, { maxNewTokens: 8 }));
    } finally {
      await theirs.dispose();
    }
  });
});
