import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, initDecoderWeights, runDecoder } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { quantizeRtnInt8, quietContext, rtnInt8Params } from '../src';

const ids = [[5, 17, 3, 88, 42, 1, 60, 9, 33, 71, 2, 50]];

async function logits(model: Model, c: ReturnType<typeof decoderPreset>): Promise<Float32Array> {
  const s = await createDecoderSession(model);
  try {
    return (await runDecoder(s, c, { inputIds: ids })).logits;
  } finally {
    await s.release();
  }
}

const relErr = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]!)) / Math.hypot(...b);

/** Fraction of positions whose most likely next token is unchanged. */
function top1Agreement(a: Float32Array, b: Float32Array, vocab: number): number {
  let same = 0;
  const n = a.length / vocab;
  const argmax = (x: Float32Array, r: number) => {
    let best = 0;
    for (let j = 1; j < vocab; j++) if (x[r * vocab + j]! > x[r * vocab + best]!) best = j;
    return best;
  };
  for (let r = 0; r < n; r++) if (argmax(a, r) === argmax(b, r)) same++;
  return same / n;
}

describe('quantize.rtn-int8 on the Llama-style decoder', () => {
  for (const weightDtype of ['float32', 'float16'] as const) {
    it(`quantizes all 7 projections per block plus lm_head (${weightDtype} weights) and stays close to the original logits`, async () => {
      // std 0.2 so the random model's logits are far from flat and errors would show.
      const c = decoderPreset('tiny');
      const w = initDecoderWeights(c, 1, 0.2);
      const model = buildDecoder(c, w, { weightDtype });
      const { model: qm, report } = await quantizeRtnInt8(model, rtnInt8Params.parse({}), quietContext());
      expect(report.layersQuantized).toBe(c.nLayers * 7 + 1);
      const matmulsOnDequant = qm.graph.nodes.filter((n) => n.opType === 'DequantizeLinear').map((n) => n.name);
      expect(matmulsOnDequant).toContain('/model/layers.1/self_attn/q_proj/MatMul/DequantizeLinear');
      expect(matmulsOnDequant).toContain('/lm_head/MatMul/DequantizeLinear');
      const [ref, got] = [await logits(model, c), await logits(qm, c)];
      const err = relErr(got, ref);
      // Measured ~0.028 here; a wrong axis or scale gives errors of order 1.
      expect(err).toBeGreaterThan(0);
      expect(err).toBeLessThan(0.06);
      expect(top1Agreement(got, ref, c.vocabSize)).toBeGreaterThanOrEqual(10 / 12);
    });
  }

  it('keeps a tied embedding (read by Gather) in float and can skip lm_head by name', async () => {
    const c = decoderPreset('tiny', { tieEmbeddings: true });
    const model = buildDecoder(c, initDecoderWeights(c, 2, 0.2));
    const { model: qm, report } = await quantizeRtnInt8(model, rtnInt8Params.parse({ skip: ['lm_head'] }), quietContext());
    expect(report.layersQuantized).toBe(c.nLayers * 7);
    expect(qm.graph.initializers.find((t) => t.name === 'model.embed_tokens.weight')?.dtype).toBe('float32');
    expect(relErr(await logits(qm, c), await logits(model, c))).toBeLessThan(0.08);
  });

  it('quantizes a Qwen2-style decoder (q/k/v biases added after the MatMuls) and leaves the biases in float', async () => {
    const c = decoderPreset('tiny', { qkvBias: true });
    const model = buildDecoder(c, initDecoderWeights(c, 3, 0.2));
    const { model: qm, report } = await quantizeRtnInt8(model, rtnInt8Params.parse({}), quietContext());
    expect(report.layersQuantized).toBe(c.nLayers * 7 + 1);
    expect(qm.graph.initializers.find((t) => t.name === 'model.layers.0.self_attn.q_proj.bias')?.dtype).toBe('float32');
    expect(relErr(await logits(qm, c), await logits(model, c))).toBeLessThan(0.06);
  });
});
