/**
 * Structured pruning of GPT-2 (FFN channels, whole blocks): the pruned graph in ORT against
 * the slow GPT-2 reference forward on the pruned weights, the config it carries (config.json's
 * n_inner / n_layer), the parameter count, and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { modelPerplexity } from '@distillery/eval';
import { buildGpt2, createDecoderSession, gpt2BlockPrefix, gpt2ReferenceForward, gpt2WeightsFromModel, initGpt2Weights, parseGpt2Config, readGpt2Config, runDecoder, toGpt2HfConfig, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import { inspectModel, type Model } from '@distillery/onnx';
import { ffnChannelsParams, headsParams, pruneBlocks, pruneBlocksParams, pruneFfn, pruneGpt2FfnChannels, pruneHeads, pruneWidth, quantizeRtnInt8, quietContext, rtnInt8Params, removeGpt2Blocks, widthParams } from '../../src';
import { seededUniform } from '../mlp-fixture';

const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 41, hiddenSize: 32, nLayers: 4, nHeads: 4, ffnSize: 64, maxPositions: 32 });
const PROMPT = [3, 9, 27, 1, 40, 12, 5];
const sequences = [0, 1, 2].map((s) => Int32Array.from(seededUniform(16, 60 + s), (v) => Math.floor(Math.abs(v) * 40)));
const ctx = quietContext({ calibration: { sequences } });

// Channels 0..15 of every MLP are dead: c_fc's columns and bias are zero, so gelu(0) = 0 feeds c_proj.
const DEAD = 16;
function withDeadChannels(seed: number): Gpt2Weights {
  const w = initGpt2Weights(c, seed, 0.2);
  for (let i = 0; i < c.nLayers; i++) {
    const fc = w.get(`${gpt2BlockPrefix(i)}.mlp.c_fc.weight`)!;
    const bias = w.get(`${gpt2BlockPrefix(i)}.mlp.c_fc.bias`)!;
    for (let r = 0; r < c.hiddenSize; r++) fc.fill(0, r * c.ffnSize, r * c.ffnSize + DEAD);
    bias.fill(0, 0, DEAD);
  }
  return w;
}

async function logits(m: Model, config: Gpt2Config): Promise<Float32Array> {
  const s = await createDecoderSession(m);
  try {
    return (await runDecoder(s, config, { inputIds: [PROMPT] })).logits.slice();
  } finally {
    await s.release();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('structured pruning of GPT-2', () => {
  it('FFN channels: the pruned graph in ORT equals the reference forward on the pruned weights', async () => {
    const w = initGpt2Weights(c, 7, 0.2);
    // Arbitrary importance, so the kept channels differ per layer.
    const importance = Array.from({ length: c.nLayers }, (_, l) => seededUniform(c.ffnSize, 100 + l));
    const r = pruneGpt2FfnChannels(c, w, importance, 40);
    expect(r.config.ffnSize).toBe(40);
    expect(new Set(r.kept.map((k) => k.join(','))).size).toBeGreaterThan(1);
    const got = await logits(buildGpt2(r.config, r.weights), r.config);
    const ref = gpt2ReferenceForward(r.config, r.weights, PROMPT).flat();
    expect(maxDiff(got, ref)).toBeLessThan(1e-4);
    // Channel j of the pruned layer is channel kept[j] of the original: c_fc column and bias, c_proj row.
    const k = r.kept[1]!;
    const p = `${gpt2BlockPrefix(1)}.mlp`;
    expect(r.weights.get(`${p}.c_fc.bias`)![3]).toBe(w.get(`${p}.c_fc.bias`)![k[3]!]);
    expect(r.weights.get(`${p}.c_fc.weight`)![2 * 40 + 5]).toBe(w.get(`${p}.c_fc.weight`)![2 * c.ffnSize + k[5]!]);
    expect(Array.from(r.weights.get(`${p}.c_proj.weight`)!.subarray(7 * 32, 8 * 32))).toEqual(Array.from(w.get(`${p}.c_proj.weight`)!.subarray(k[7]! * 32, (k[7]! + 1) * 32)));
  });

  it('prune.ffn-channels removes the channels with no activation, keeps the logits, and carries n_inner into config.json', async () => {
    for (const weightDtype of ['float32', 'float16'] as const) {
      const model = buildGpt2(c, withDeadChannels(3), { weightDtype });
      const before = await logits(model, c);
      const out = await pruneFfn(model, ffnChannelsParams.parse({ ratio: 0.25 }), ctx);
      const pc = readGpt2Config(out.model)!;
      expect(pc).toEqual({ ...c, ffnSize: c.ffnSize - DEAD });
      expect(toGpt2HfConfig(pc)).toMatchObject({ n_inner: 48, n_layer: 4, n_head: 4, n_embd: 32 });
      expect(JSON.parse(out.report.config as string)).toEqual({ n_layer: 4, n_inner: 48, n_head: 4, n_embd: 32 });
      expect(out.report).toMatchObject({ ffnSizeBefore: 64, ffnSizeAfter: 48 });
      expect(out.report.paramsAfter).toBe((out.report.paramsBefore as number) - c.nLayers * DEAD * (2 * c.hiddenSize + 1));
      expect(inspectModel(out.model).parameterCount).toBeLessThan(inspectModel(model).parameterCount);
      // Only dead channels went, so the model computes the same function.
      expect(maxDiff(await logits(out.model, pc), before)).toBeLessThan(weightDtype === 'float32' ? 1e-4 : 1e-3);
      expect(gpt2WeightsFromModel(out.model).weightDtype).toBe(weightDtype);
    }
  });

  it('blocks: the graph without a block equals the reference forward on the renumbered weights', async () => {
    const w = initGpt2Weights(c, 9, 0.2);
    const r = removeGpt2Blocks(c, w, [0, 2]);
    expect(r.config.nLayers).toBe(2);
    expect(r.kept).toEqual([[1, 3]]);
    expect(r.weights.get(`${gpt2BlockPrefix(1)}.attn.c_attn.weight`)).toBe(w.get(`${gpt2BlockPrefix(3)}.attn.c_attn.weight`));
    expect([...r.weights.keys()].some((n) => n.startsWith(gpt2BlockPrefix(2)))).toBe(false);
    const got = await logits(buildGpt2(r.config, r.weights), r.config);
    expect(maxDiff(got, gpt2ReferenceForward(r.config, r.weights, PROMPT).flat())).toBeLessThan(1e-4);
  });

  it('prune.blocks finds the block that does nothing by block influence and by perplexity, and n_layer shrinks', async () => {
    const w = initGpt2Weights(c, 5, 0.2);
    // Block 2 writes zeros to the residual stream: both projections' weights and biases are zero.
    for (const part of ['attn.c_proj', 'mlp.c_proj']) for (const t of ['weight', 'bias']) w.get(`${gpt2BlockPrefix(2)}.${part}.${t}`)!.fill(0);
    const model = buildGpt2(c, w);
    const before = await logits(model, c);
    const byInfluence = await pruneBlocks(model, pruneBlocksParams.parse({ count: 1, importance: 'block-influence' }), ctx);
    expect(byInfluence.report.removedBlocks).toBe('2');
    const pc = readGpt2Config(byInfluence.model)!;
    expect(toGpt2HfConfig(pc).n_layer).toBe(3);
    expect(byInfluence.report.paramsAfter).toBeLessThan(byInfluence.report.paramsBefore as number);
    expect(maxDiff(await logits(byInfluence.model, pc), before)).toBeLessThan(1e-4);
    // Each perplexity score is the calibration perplexity without that block: without block 2 the model is unchanged.
    const byPerplexity = await pruneBlocks(model, pruneBlocksParams.parse({ count: 1, importance: 'perplexity' }), ctx);
    const scores = (byPerplexity.report.blockScores as string).split(',').map(Number);
    const base = (await modelPerplexity(model, Int32Array.from(sequences.flatMap((s) => Array.from(s))), { window: 16 })).perplexity;
    expect(scores[2]).toBeCloseTo(base, 3);
    expect(byPerplexity.report.removedBlocks).toBe(String(scores.indexOf(Math.min(...scores))));
    const named = await pruneBlocks(model, pruneBlocksParams.parse({ blocks: [0, 3] }), ctx);
    expect(JSON.parse(named.report.config as string)).toMatchObject({ n_layer: 2, n_inner: 64 });
  });

  it('refuses impossible targets, distillation, head and width pruning, naming GPT-2 and what is missing', async () => {
    const model = buildGpt2(c, initGpt2Weights(c, 2, 0.2));
    await expect(pruneFfn(model, ffnChannelsParams.parse({ keep: 64 }), ctx)).rejects.toThrow('prune.ffn-channels: keeping 64 of 64 channels removes nothing');
    await expect(pruneFfn(model, ffnChannelsParams.parse({ ratio: 0.999 }), ctx)).rejects.toThrow(/would remove every channel of the MLP/);
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ blocks: [0, 1, 2, 3] }), ctx)).rejects.toThrow('prune.blocks: removing 4 of 4 blocks would remove every block');
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ count: 4 }), ctx)).rejects.toThrow(/would remove every block/);
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ blocks: [4] }), ctx)).rejects.toThrow('prune.blocks: block 4 does not exist (the model has 4)');
    await expect(pruneFfn(model, ffnChannelsParams.parse({ ratio: 0.25 }), quietContext())).rejects.toThrow(/needs calibration data/);
    const distill = { steps: 2 };
    await expect(pruneFfn(model, ffnChannelsParams.parse({ ratio: 0.25, distill }), ctx)).rejects.toThrow(/distill after pruning is not available for a GPT-2 model \(distill.kd trains Llama-style decoders only\)/);
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ blocks: [1], distill }), ctx)).rejects.toThrow(/not available for a GPT-2 model/);
    await expect(pruneHeads(model, headsParams.parse({ groups: 1 }), ctx)).rejects.toThrow(/^prune\.heads: this is a GPT-2 model .*head_dim = n_embd \/ n_head/);
    await expect(pruneWidth(model, widthParams.parse({ ratio: 0.25 }), ctx)).rejects.toThrow(/^prune\.width: this is a GPT-2 model .*embedding width is not built/);
    const int8 = await quantizeRtnInt8(model, rtnInt8Params.parse({}), ctx);
    await expect(pruneFfn(int8.model, ffnChannelsParams.parse({ ratio: 0.25 }), ctx)).rejects.toThrow(
      /^prune\.ffn-channels works on GPT-2 models with plain float weights \(prune before quantizing\): gpt2WeightsFromModel: missing initializer transformer\.h\.0\.attn\.c_attn\.weight/,
    );
  });
});
