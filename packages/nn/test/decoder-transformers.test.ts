/**
 * Independent check: @huggingface/transformers (transformers.js v4, on onnxruntime-node)
 * loads a folder holding our onnx/model.onnx and config.json, offline, and computes the
 * same logits and greedy continuations as our own session.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForCausalLM, Tensor, env } from '@huggingface/transformers';
import { writeModel } from '@distillery/onnx';
import {
  buildDecoder,
  createDecoderSession,
  decoderPreset,
  generate,
  initDecoderWeights,
  runDecoder,
  toHfConfig,
  type DecoderSession,
} from '../src/decoder/index';

const c = decoderPreset('tiny');
const w = initDecoderWeights(c, 1, 0.3);
let root: string;
let ours: DecoderSession;
// The loaded model's type is the library's; its call/generate signatures are loose JS.
let theirs: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>;

const int64 = (rows: number[][]): Tensor =>
  new Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0]!.length]);

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-tjs-'));
  const dir = path.join(root, 'tiny-llama');
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  const model = buildDecoder(c, w);
  await writeModel(model, path.join(dir, 'onnx', 'model.onnx'));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(toHfConfig(c, { bosTokenId: 1, eosTokenId: 2, padTokenId: 0 })));
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root;
  theirs = await AutoModelForCausalLM.from_pretrained('tiny-llama', { dtype: 'fp32', device: 'cpu' });
  ours = await createDecoderSession(model);
});

afterAll(async () => {
  await theirs?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('transformers.js loads our decoder', () => {
  it('computes the same logits', async () => {
    const ids = [[5, 12, 40, 7, 90]];
    const out = (await theirs({ input_ids: int64(ids), attention_mask: int64([[1, 1, 1, 1, 1]]) })) as { logits: Tensor };
    expect(out.logits.dims).toEqual([1, 5, c.vocabSize]);
    const mine = await runDecoder(ours, c, { inputIds: ids });
    const data = out.logits.data as Float32Array;
    let d = 0;
    data.forEach((v, i) => (d = Math.max(d, Math.abs(v - mine.logits[i]!))));
    expect(d).toBeLessThanOrEqual(1e-5);
  });

  it('greedy generation gives our tokens, including a left-padded batch', async () => {
    const a = [5, 12, 40, 7];
    const b = [33, 9];
    const gen = (await theirs.generate({
      input_ids: int64([a, [0, 0, ...b]]),
      attention_mask: int64([[1, 1, 1, 1], [0, 0, 1, 1]]),
      max_new_tokens: 8,
      do_sample: false,
    })) as Tensor;
    const rows = gen.tolist() as bigint[][];
    const tail = (r: bigint[]): number[] => r.slice(4).map(Number);
    expect(tail(rows[0]!)).toEqual(await generate(ours, c, a, { maxNewTokens: 8 }));
    expect(tail(rows[1]!)).toEqual(await generate(ours, c, b, { maxNewTokens: 8 }));
  });
});
