import { describe, expect, it } from 'vitest';
import { causalLm, decoderIo, emptyPastFeeds, tokenFeeds } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { ort, serializeModel, type Model } from '@distillery/onnx';
import { quietContext, rewriteLinear, selectLinearLayers } from '../../src';
import { targetOf } from '../../src/kit/rewrite-linear';
import { weightFeed, weightsAsInputs } from '../../src/kit/weight-inputs';

const config = decoderPreset('tiny', { tieEmbeddings: true });
// float16 storage: every weight reaches its MatMul through a Cast; the tied head through a Transpose.
const model = buildDecoder(config, initDecoderWeights(config, 5, 0.3), { weightDtype: 'float16' });
const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % config.vocabSize);

async function session(m: Model): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(serializeModel(m).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

async function logits(m: Model): Promise<Float32Array> {
  const s = await session(m);
  try {
    return (await causalLm(s).forward(tokens)).logits;
  } finally {
    await s.release();
  }
}

describe('weightsAsInputs', () => {
  it('runs as the constant model when fed the base weights, and as a rewritten model when one layer is fed changed values', async () => {
    const selected = selectLinearLayers(model, { tiedHead: true }).selected;
    expect(selected.some((l) => l.layer.transpose)).toBe(true);
    const probed = weightsAsInputs(model, selected);
    // The selected weights' Casts and the head's Transpose are gone; the embedding table stays for its Gather.
    expect(probed.model.graph.nodes.filter((n) => n.opType === 'Transpose' && n.inputs[0]?.includes('embed'))).toHaveLength(0);
    expect(probed.model.graph.initializers.some((t) => t.name === 'model.embed_tokens.weight')).toBe(true);
    const targets = selected.map((l) => targetOf(l));
    const base = Object.fromEntries(probed.inputs.map((w, i) => [w.input, weightFeed(w, targets[i]!.values)]));
    const changedAt = 3;
    const changed = Float32Array.from(targets[changedAt]!.values, (v) => -0.5 * v);
    const s = await session(probed.model);
    const run = async (weights: Record<string, ort.Tensor>) => {
      const io = decoderIo(s, new Set(probed.inputs.map((w) => w.input)));
      const out = await s.run({ ...tokenFeeds(io, tokens, 1, tokens.length), ...emptyPastFeeds(io, 1), ...weights }, ['logits']);
      return out.logits!.data as Float32Array;
    };
    try {
      const want = await logits(model);
      const got = await run(base);
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
      const edited = await rewriteLinear(model, { technique: 't', layers: [selected[changedAt]!], ctx: quietContext(), method: () => ({ kind: 'dense', values: changed }) });
      const want2 = await logits(edited.model);
      const got2 = await run({ ...base, [probed.inputs[changedAt]!.input]: weightFeed(probed.inputs[changedAt]!, changed) });
      expect(Math.max(...want2.map((v, i) => Math.abs(v - want[i]!)))).toBeGreaterThan(1e-2);
      expect(Math.max(...got2.map((v, i) => Math.abs(v - want2[i]!)))).toBeLessThan(1e-4);
    } finally {
      await s.release();
    }
  });

  it('refuses a fed weight of the wrong size, naming the layer', () => {
    const probed = weightsAsInputs(model, selectLinearLayers(model).selected);
    expect(() => weightFeed(probed.inputs[0]!, new Float32Array(3))).toThrow(/MatMul: 3 values fed for a \[\d+, \d+\] weight/);
  });
});
