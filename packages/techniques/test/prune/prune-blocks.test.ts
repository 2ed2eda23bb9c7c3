import { describe, expect, it } from 'vitest';
import { modelPerplexity } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights, layerPrefix, readDecoderConfig } from '@distillery/nn';
import { blockInfluences, pruneBlocks, pruneBlocksParams, quietContext } from '../../src';
import { seededUniform } from '../mlp-fixture';

const config = decoderPreset('tiny', { nLayers: 4 });
const weights = initDecoderWeights(config, 5, 0.2);
// Block 2 does nothing: its residual branches write zeros, so its input equals its output.
weights.get(`${layerPrefix(2)}.self_attn.o_proj.weight`)!.fill(0);
weights.get(`${layerPrefix(2)}.mlp.down_proj.weight`)!.fill(0);
const model = buildDecoder(config, weights);
const sequences = [0, 1, 2].map((s) => Int32Array.from(seededUniform(24, 40 + s), (v) => Math.floor(Math.abs(v) * 95)));
const ctx = quietContext({ calibration: { sequences } });

describe('prune.blocks', () => {
  it('block influence of a block that does nothing is 0 and the others are positive', async () => {
    const bi = await blockInfluences(model, sequences, ctx);
    expect(bi[2]).toBeCloseTo(0, 6);
    for (const i of [0, 1, 3]) expect(bi[i]).toBeGreaterThan(1e-4);
  });

  it('by block influence: removes the block that does nothing, and the config says 3 layers', async () => {
    const out = await pruneBlocks(model, pruneBlocksParams.parse({ count: 1, importance: 'block-influence' }), ctx);
    expect(out.report.removedBlocks).toBe('2');
    expect(readDecoderConfig(out.model)!.nLayers).toBe(3);
    expect(JSON.parse(out.report.config as string).num_hidden_layers).toBe(3);
    expect(out.report.paramsAfter).toBeLessThan(out.report.paramsBefore as number);
  });

  it('by perplexity: each score is the calibration perplexity without that block, and the lowest goes', async () => {
    const out = await pruneBlocks(model, pruneBlocksParams.parse({ count: 2, importance: 'perplexity' }), ctx);
    const scores = (out.report.blockScores as string).split(',').map(Number);
    const tokens = Int32Array.from(sequences.flatMap((s) => Array.from(s)));
    // Without the block that does nothing, the model is unchanged.
    const base = (await modelPerplexity(model, tokens, { window: 24 })).perplexity;
    expect(scores[2]).toBeCloseTo(base, 3);
    const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]).slice(0, 2).map(([, i]) => i).sort();
    expect(out.report.removedBlocks).toBe(order.join(','));
    expect(readDecoderConfig(out.model)!.nLayers).toBe(2);
  });

  it('refuses to remove every block and needs calibration to choose', async () => {
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ count: 4 }), ctx)).rejects.toThrow(/removing 4 of 4 blocks would remove every block/);
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ blocks: [0, 1, 2, 3] }), ctx)).rejects.toThrow(/would remove every block/);
    await expect(pruneBlocks(model, pruneBlocksParams.parse({ count: 1 }), quietContext())).rejects.toThrow(/needs calibration data/);
    expect(pruneBlocksParams.safeParse({}).success).toBe(false);
  });
});
