import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, decoderWeightsFromModel, initDecoderWeights, logitsAt, runDecoder } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { withOutlierChannels } from '../src/outlier-channels';

const config = decoderPreset('tiny');
const base = (): Model => buildDecoder(config, initDecoderWeights(config, 3, 0.2));
const ids = [[7, 1, 33, 20, 4, 61, 12, 9]];

async function logits(m: Model): Promise<Float32Array[]> {
  const out = await runDecoder(await createDecoderSession(m), config, { inputIds: ids });
  return ids[0]!.map((_, s) => Float32Array.from(logitsAt(out, config, 0, s)));
}

describe('withOutlierChannels', () => {
  it('makes the chosen channels x factor in every norm, the rows reading them / factor, and keeps the logits', async () => {
    const m = base();
    const { model, channels } = withOutlierChannels(m, { count: 2, factor: 20 });
    const before = decoderWeightsFromModel(m).weights;
    const after = decoderWeightsFromModel(model).weights;
    const D = config.hiddenSize;
    // The channels with the largest mean |γ| over the norms feeding linear layers.
    const norms = [...before.keys()].filter((k) => /layers\.\d+\.(input|post_attention)_layernorm/.test(k));
    const mean = Array.from({ length: D }, (_, j) => norms.reduce((s, k) => s + Math.abs(before.get(k)![j]!), 0));
    expect(channels).toEqual([...mean.keys()].sort((a, b) => mean[b]! - mean[a]!).slice(0, 2));
    for (const k of norms)
      for (let j = 0; j < D; j++) expect(after.get(k)![j]!).toBeCloseTo(before.get(k)![j]! * (channels.includes(j) ? 20 : 1), 4);
    const q = 'model.layers.0.self_attn.q_proj.weight';
    const cols = before.get(q)!.length / D;
    for (let j = 0; j < D; j++) expect(after.get(q)![j * cols]!).toBeCloseTo(before.get(q)![j * cols]! / (channels.includes(j) ? 20 : 1), 6);
    // o_proj and down_proj read no norm output: untouched.
    expect(after.get('model.layers.0.self_attn.o_proj.weight')).toEqual(before.get('model.layers.0.self_attn.o_proj.weight'));
    const [a, b] = [await logits(m), await logits(model)];
    let diff = 0;
    let scale = 0;
    for (let s = 0; s < a.length; s++)
      for (let i = 0; i < a[s]!.length; i++) {
        diff = Math.max(diff, Math.abs(a[s]![i]! - b[s]![i]!));
        scale = Math.max(scale, Math.abs(a[s]![i]!));
      }
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThanOrEqual(1e-4 * Math.max(1, scale));
  });

  it('refuses a count or factor that makes no outlier', () => {
    const m = base();
    expect(() => withOutlierChannels(m, { count: 0, factor: 20 })).toThrow(/count must be a positive integer/);
    expect(() => withOutlierChannels(m, { count: 2, factor: Number.NaN })).toThrow(/factor must be a positive number/);
    expect(() => withOutlierChannels(m, { count: config.hiddenSize + 1, factor: 2 })).toThrow(/exceeds the hidden size/);
  });
});
