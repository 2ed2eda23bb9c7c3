import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, buildGpt2, decoderPreset, initDecoderWeights, initGpt2Weights, parseGpt2Config, toTokenizerJson, trainBpe } from '@distillery/nn';
import { decodeModel, inspectModel, serializeModel } from '@distillery/onnx';
import { splitBundledCorpora } from '@distillery/data';
import { defaultSuiteSettings, type SuiteSettings } from '@distillery/eval';
import { CancelFlag } from '../src/cancel-flag';
import { createThreadPool, type ThreadPool } from '../src/thread-pool';
import type { ProgressMessage } from '../src/thread-messages';

let pool: ThreadPool;
let modelBytes: Uint8Array;
let tokenizerJson: string;

const fresh = () => {
  const b = new ArrayBuffer(modelBytes.byteLength);
  new Uint8Array(b).set(modelBytes);
  return b;
};

beforeAll(() => {
  pool = createThreadPool({ threads: 1 });
  const tokenizer = trainBpe([splitBundledCorpora().train[0]!.text.slice(0, 20_000)], { vocabSize: 300 });
  tokenizerJson = JSON.stringify(toTokenizerJson(tokenizer));
  const c = decoderPreset('tiny', { vocabSize: tokenizer.vocabSize });
  modelBytes = serializeModel(buildDecoder(c, initDecoderWeights(c, 3, 0.2))).model;
});

afterAll(async () => pool?.close());

/** Suite settings for a perplexity-only evaluation (no tasks), as a role-`base` task runs it. */
const only = (over: Partial<SuiteSettings>): SuiteSettings => ({ ...defaultSuiteSettings(1), clozeItems: 0, choiceItems: 0, ...over });
const job = (model: ArrayBuffer, tokenizer: string | null, over: Partial<SuiteSettings>) => ({
  role: 'base' as const,
  model,
  tokenizerJson: tokenizer,
  settings: only(over),
  tasks: [],
  baseCache: null,
  baseModel: null,
});

describe('thread pool', () => {
  it('runs a technique in a thread: input transferred away, model and progress back', async () => {
    const input = fresh();
    const progress: ProgressMessage[] = [];
    const out = await pool.runTechnique({ model: input, techniqueId: 'quantize.rtn-int8', params: {}, tokenizerJson: null }, { cancel: new CancelFlag(), onProgress: (p) => progress.push(p) });
    expect(input.byteLength).toBe(0); // moved, not copied
    if (!out.ok) throw new Error(out.message);
    const model = decodeModel(new Uint8Array(out.value.model));
    expect(model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(15);
    expect(out.value.report.layersQuantized).toBe(15);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('prunes a block of a GPT-2 in a thread and hands back its config.json with the new n_layer', async () => {
    const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 41, hiddenSize: 32, nLayers: 3, nHeads: 4, ffnSize: 64, maxPositions: 32 });
    const gpt2 = serializeModel(buildGpt2(c, initGpt2Weights(c, 4, 0.1))).model;
    const input = new ArrayBuffer(gpt2.byteLength);
    new Uint8Array(input).set(gpt2);
    const out = await pool.runTechnique({ model: input, techniqueId: 'prune.blocks', params: { blocks: [1] }, tokenizerJson: null }, { cancel: new CancelFlag(), onProgress: () => undefined });
    if (!out.ok) throw new Error(out.message);
    expect(out.value.decoderConfig).toMatchObject({ model_type: 'gpt2', n_layer: 2, n_inner: 64, n_head: 4, n_embd: 32 });
    // A GPT-2 block holds 4 D^2 + 2 D F + 9 D + F parameters (D = 32, F = 64: 8 D^2 + 11 D); the graph's few constants count on both sides.
    const before = inspectModel(decodeModel(gpt2)).parameterCount;
    expect(before - out.value.parameters).toBe(8 * 32 * 32 + 11 * 32);
    expect((out.value.report.paramsBefore as number) - (out.value.report.paramsAfter as number)).toBe(8 * 32 * 32 + 11 * 32);
  });

  it('reports bad parameters as an invalid outcome, naming the field', async () => {
    const out = await pool.runTechnique({ model: fresh(), techniqueId: 'quantize.rtn-int8', params: { minSize: -1 }, tokenizerJson: null }, { cancel: new CancelFlag(), onProgress: () => undefined });
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.reason).toBe('invalid');
      expect(out.message).toContain('minSize');
    }
  });

  it('stops an evaluation between windows when the shared flag is set', async () => {
    const cancel = new CancelFlag();
    const seen: ProgressMessage[] = [];
    const out = await pool.evaluate(
      job(fresh(), tokenizerJson, { maxTokens: 3000, window: 32, stride: 1, batch: 1 }),
      {
        cancel,
        onProgress: (p) => {
          seen.push(p);
          cancel.request('canceled');
        },
      },
    );
    expect(out).toEqual({ ok: false, reason: 'canceled', message: expect.stringContaining('canceled') });
    // Thousands of windows were due; it stopped within a few (messages in flight when the flag was read).
    expect(seen.length).toBeLessThan(50);
  });

  it('skips perplexity without a tokenizer and says so', async () => {
    const out = await pool.evaluate(job(fresh(), null, { maxTokens: 100 }), { cancel: new CancelFlag(), onProgress: () => undefined });
    expect(out.ok && out.value.evaluation.figures.perplexity).toBeUndefined();
    expect(out.ok && out.value.note).toMatch(/no tokenizer/);
    expect(out.ok && out.value.evaluation.figures.sizeBytes).toBe(modelBytes.byteLength);
  });

  it('close() waits for a running task instead of ending its thread', async () => {
    const closing = createThreadPool({ threads: 1 });
    const task = closing.evaluate(job(fresh(), tokenizerJson, { maxTokens: 600, window: 32, stride: 4 }), { cancel: new CancelFlag(), onProgress: () => undefined });
    await new Promise((r) => setTimeout(r, 50));
    await closing.close();
    const out = await task;
    expect(out.ok && out.value.evaluation.figures.scoredTokens).toBe(599);
    await expect(closing.evaluate(job(fresh(), tokenizerJson, { maxTokens: 10 }), { cancel: new CancelFlag(), onProgress: () => undefined })).rejects.toThrow(/closed/);
  });
});
