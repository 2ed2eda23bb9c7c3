import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, initDecoderWeights, layerPrefix, referenceForward, runDecoder, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { blockInfluence, headGroupImportance, hiddenImportance, keptChannels, leastImportantBlocks, pruneFfnChannels, pruneHeadGroups, pruneHiddenWidth, removeBlocks, type StructuredResult } from '../../src';
import { seededUniform } from '../mlp-fixture';

const config = decoderPreset('tiny', { nHeads: 4, nKvHeads: 2 });
const weights = initDecoderWeights(config, 3, 0.2);
const ids = [[5, 17, 3, 60, 22, 9, 41, 2]];

/** The pruned model run by ORT equals the TypeScript reference forward of the unpruned model with the pruned parts zeroed. */
async function expectOrtEqualsZeroedReference(pruned: StructuredResult, zeroed: DecoderWeights, c: DecoderConfig = config): Promise<void> {
  const session = await createDecoderSession(buildDecoder(pruned.config, pruned.weights));
  const got = await runDecoder(session, pruned.config, { inputIds: ids });
  await session.release();
  const ref = referenceForward(c, zeroed, ids).logits[0]!;
  ref.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * c.vocabSize + k]).toBeCloseTo(v, 4)));
}

const copy = (w: DecoderWeights): DecoderWeights => new Map([...w].map(([k, v]) => [k, Float32Array.from(v)]));

describe('structured pruning', () => {
  it('FFN channels: the narrower model computes what the original does with those channels zeroed', async () => {
    const importance = Array.from({ length: config.nLayers }, (_, i) => seededUniform(config.ffnSize, 10 + i).map(Math.abs));
    const pruned = pruneFfnChannels(config, weights, importance, 40);
    expect(pruned.config.ffnSize).toBe(40);
    const zeroed = copy(weights);
    for (let i = 0; i < config.nLayers; i++) {
      const keep = new Set(pruned.kept[i]);
      // The kept channels are the most important ones.
      const min = Math.min(...[...keep].map((c) => importance[i]![c]!));
      for (let c = 0; c < config.ffnSize; c++) if (!keep.has(c)) expect(importance[i]![c]!).toBeLessThanOrEqual(min);
      const down = zeroed.get(`${layerPrefix(i)}.mlp.down_proj.weight`)!;
      for (let c = 0; c < config.ffnSize; c++) if (!keep.has(c)) down.fill(0, c * config.hiddenSize, (c + 1) * config.hiddenSize);
    }
    await expectOrtEqualsZeroedReference(pruned, zeroed);
  });

  it('attention heads: a KV head goes with its query group; the result equals zeroing those heads', async () => {
    const energy = Array.from({ length: config.nLayers }, (_, i) => seededUniform(config.nHeads * config.headDim, 20 + i).map(Math.abs));
    const importance = energy.map((e) => headGroupImportance(config, e));
    const pruned = pruneHeadGroups(config, weights, importance, 1);
    expect(pruned.config).toMatchObject({ nHeads: 2, nKvHeads: 1, headDim: config.headDim, hiddenSize: config.hiddenSize });
    const zeroed = copy(weights);
    const group = config.nHeads / config.nKvHeads;
    for (let i = 0; i < config.nLayers; i++) {
      const o = zeroed.get(`${layerPrefix(i)}.self_attn.o_proj.weight`)!;
      for (let h = 0; h < config.nHeads; h++) {
        if (pruned.kept[i]!.includes(Math.floor(h / group))) continue;
        o.fill(0, h * config.headDim * config.hiddenSize, (h + 1) * config.headDim * config.hiddenSize);
      }
    }
    await expectOrtEqualsZeroedReference(pruned, zeroed);
    expect(() => pruneHeadGroups(config, weights, importance, 0)).toThrow(/would prune every head of a layer/);
  });

  it('blocks: removing a block equals making it the identity (its output projections zeroed)', async () => {
    const pruned = removeBlocks(config, weights, [0]);
    expect(pruned.config.nLayers).toBe(1);
    const zeroed = copy(weights);
    zeroed.get(`${layerPrefix(0)}.self_attn.o_proj.weight`)!.fill(0);
    zeroed.get(`${layerPrefix(0)}.mlp.down_proj.weight`)!.fill(0);
    await expectOrtEqualsZeroedReference(pruned, zeroed);
    expect(() => removeBlocks(config, weights, [0, 1])).toThrow(/removing 2 of 2 blocks would remove every block/);
    expect(() => removeBlocks(config, weights, [5])).toThrow(/block 5 does not exist/);
  });

  it('embedding width: every weight keeps the chosen hidden dimensions, and ORT equals the TypeScript reference on the pruned weights', async () => {
    const importance = seededUniform(config.hiddenSize, 40).map(Math.abs);
    const pruned = pruneHiddenWidth(config, weights, importance, 20);
    expect(pruned.config).toMatchObject({ hiddenSize: 20, nHeads: config.nHeads, headDim: config.headDim, ffnSize: config.ffnSize });
    const kept = pruned.kept[0]!;
    expect(kept).toHaveLength(20);
    const min = Math.min(...kept.map((i) => importance[i]!));
    for (let i = 0; i < config.hiddenSize; i++) if (!kept.includes(i)) expect(importance[i]!).toBeLessThanOrEqual(min);
    const D = config.hiddenSize;
    const q = config.nHeads * config.headDim;
    // Spot checks against the unpruned tensors, one per kind of hidden axis.
    const at = (name: string, w: DecoderWeights = weights) => w.get(name)!;
    kept.forEach((d, j) => {
      expect(at('model.embed_tokens.weight', pruned.weights)[7 * 20 + j]).toBe(at('model.embed_tokens.weight')[7 * D + d]);
      expect(at('model.norm.weight', pruned.weights)[j]).toBe(at('model.norm.weight')[d]);
      expect(at(`${layerPrefix(1)}.self_attn.q_proj.weight`, pruned.weights)[j * q + 3]).toBe(at(`${layerPrefix(1)}.self_attn.q_proj.weight`)[d * q + 3]);
      expect(at(`${layerPrefix(0)}.mlp.down_proj.weight`, pruned.weights)[5 * 20 + j]).toBe(at(`${layerPrefix(0)}.mlp.down_proj.weight`)[5 * D + d]);
      expect(at('lm_head.weight', pruned.weights)[j * config.vocabSize + 11]).toBe(at('lm_head.weight')[d * config.vocabSize + 11]);
    });
    const session = await createDecoderSession(buildDecoder(pruned.config, pruned.weights));
    const got = await runDecoder(session, pruned.config, { inputIds: ids });
    await session.release();
    const ref = referenceForward(pruned.config, pruned.weights, ids).logits[0]!;
    ref.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * config.vocabSize + k]).toBeCloseTo(v, 4)));
    expect(() => pruneHiddenWidth(config, weights, importance, 0)).toThrow(/would remove the whole embedding width/);
    expect(() => pruneHiddenWidth(config, weights, importance, D)).toThrow(/removes nothing/);
  });

  it('embedding-width importance sums the mean |x| of each norm output', () => {
    const a = { sumAbs: [2, 0, 6], count: 2 };
    const b = { sumAbs: [1, 4, 1], count: 4 };
    expect(Array.from(hiddenImportance([a, b], 3))).toEqual([1.25, 1, 3.25]);
    expect(() => hiddenImportance([{ sumAbs: [1, 2], count: 1 }], 3)).toThrow(/2 channels, the hidden size is 3/);
    expect(() => hiddenImportance([], 3)).toThrow(/no norm outputs/);
  });

  it('block influence is 1 - mean cosine, and the least influential blocks are chosen', () => {
    const a = Float32Array.from([1, 0, 0, 1]);
    expect(blockInfluence(a, Float32Array.from([1, 0, 0, 1]), 2)).toBeCloseTo(0, 12);
    expect(blockInfluence(a, Float32Array.from([0, 1, 0, -1]), 2)).toBeCloseTo(1.5, 12); // cos 0 and -1
    expect(leastImportantBlocks([0.3, 0.05, 0.2, 0.01], 2)).toEqual([1, 3]);
  });

  it('FFN kept size rounds to the nearest multiple asked for, and says so when that empties or keeps the MLP', () => {
    expect(keptChannels(2048, { ratio: 0.3, multipleOf: 1 })).toBe(1434);
    expect(keptChannels(2048, { ratio: 0.3, multipleOf: 64 })).toBe(1408);
    expect(keptChannels(2048, { keep: 1470, multipleOf: 64 })).toBe(1472);
    expect(() => keptChannels(64, { ratio: 0.3, multipleOf: 64 })).toThrow(/removing 30% of 64 channels \(64 after rounding to a multiple of 64\) removes nothing/);
    expect(() => keptChannels(64, { keep: 20, multipleOf: 64 })).toThrow(/keeping 20 of 64 channels \(0 after rounding to a multiple of 64\) would remove every channel/);
  });

  it('refuses FFN targets that remove everything or nothing', () => {
    const imp = Array.from({ length: config.nLayers }, () => new Float32Array(config.ffnSize));
    expect(() => pruneFfnChannels(config, weights, imp, 0)).toThrow(/would remove every channel/);
    expect(() => pruneFfnChannels(config, weights, imp, config.ffnSize)).toThrow(/removes nothing/);
  });
});
