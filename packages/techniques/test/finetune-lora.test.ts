import { beforeAll, describe, expect, it } from 'vitest';
import { createDecoderSession, decoderWeightShapes, decoderWeightsFromModel, isBlockLinearWeight, referenceForward, runDecoder, type DecoderWeights } from '@distillery/nn';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { dequantizeWeight, finetuneLora, loraParams, lowRankProduct, quantizeRtn, quantizeWeight, rtnParams } from '../src';
import { ctxWith, testPerplexity, tinyConfig, trainTinyModel } from './finetune-tiny-lm';

let base: Model;
let q4: Model;
beforeAll(async () => {
  base = await trainTinyModel(300);
  // accuracy_level 0: MatMulNBits keeps float32 activations, so ORT and the float64 reference agree closely.
  q4 = (await quantizeRtn(base, rtnParams.parse({ bits: 4, groupSize: 16, format: 'matmulnbits', accuracyLevel: 0 }), ctxWith())).model;
});

/** What the adapted graph should compute with: the base rounded by the TypeScript quantizer, plus each adapter's A (s B) read from the output model. */
function effectiveWeights(m: Model): DecoderWeights {
  const byName = new Map(m.graph.initializers.map((t) => [t.name, t]));
  const weights = decoderWeightsFromModel(base).weights;
  const shapes = decoderWeightShapes(tinyConfig);
  for (const [name, w] of weights) {
    // quantize.rtn rounds the block projections and the untied LM head; adapters sit on the projections only.
    if (!isBlockLinearWeight(name) && name !== 'lm_head.weight') continue;
    const [rows, cols] = shapes.get(name) as [number, number];
    const deq = dequantizeWeight(quantizeWeight(w, rows, cols, { bits: 4, symmetric: true, groupSize: 16 }));
    const a = byName.get(`${name}.lora_A`);
    const b = byName.get(`${name}.lora_B`);
    if (!a || !b) {
      weights.set(name, deq);
      continue;
    }
    const delta = lowRankProduct({ weight: name, inFeatures: rows, outFeatures: cols, rank: a.dims[1]!, a: tensorToFloat32(a), b: tensorToFloat32(b) });
    weights.set(name, Float32Array.from(deq, (v, i) => v + delta[i]!));
  }
  return weights;
}

describe('finetune.lora', () => {
  it('trains adapters on a frozen 4-bit MatMulNBits base: the loss falls, the integers stay, ORT equals the TypeScript reference', async () => {
    const params = loraParams.parse({ steps: 80, rank: 4, alpha: 8, lr: 1e-2, batchSize: 8, seqLen: 64 });
    const out = await finetuneLora(q4, params, ctxWith());
    expect(out.report.finalLoss as number).toBeLessThan(out.report.initialLoss as number);
    expect(out.report.separateAdapters).toBe(tinyConfig.nLayers * 7);
    expect(out.report.mergedAdapters).toBe(0);
    expect(out.report.quantizedBaseLayers).toBe(tinyConfig.nLayers * 7);
    // float16 storage by default, cast to float32 in the graph.
    expect(out.report.adapterBytes).toBe(2 * (out.report.adapterParameters as number));
    expect(out.model.graph.initializers.filter((t) => t.name.endsWith('.lora_A')).every((t) => t.dtype === 'float16')).toBe(true);
    // The quantized blocks are the input's, byte for byte.
    const packed = (m: Model) => m.graph.initializers.filter((t) => t.name.endsWith('_nbits')).map((t) => Buffer.from(t.raw).toString('base64'));
    expect(packed(out.model)).toEqual(packed(q4));
    expect(out.model.graph.nodes.filter((n) => n.opType === 'MatMulNBits')).toHaveLength(tinyConfig.nLayers * 7 + 1);
    expect(out.model.graph.nodes.filter((n) => n.name.endsWith('/lora/Add'))).toHaveLength(tinyConfig.nLayers * 7);

    const ids = [[5, 17, 3, 88, 42, 1, 60, 33]];
    const session = await createDecoderSession(out.model);
    try {
      const got = await runDecoder(session, tinyConfig, { inputIds: ids });
      const want = referenceForward(tinyConfig, effectiveWeights(out.model), ids).logits[0]!;
      want.forEach((row, s) => row.forEach((v, k) => expect(Math.abs(got.logits[s * tinyConfig.vocabSize + k]! - v)).toBeLessThan(2e-4)));
    } finally {
      await session.release();
    }
    // The adapters change what the model computes, toward lower held-out perplexity than the quantized base.
    expect(await testPerplexity(out.model)).toBeLessThan(await testPerplexity(q4));
  });

  it('merges adapters into float layers unless told to keep them separate', async () => {
    const params = loraParams.parse({ steps: 5, rank: 2, targets: ['up_proj'], lr: 3e-3, batchSize: 4, seqLen: 32 });
    const merged = await finetuneLora(base, params, ctxWith());
    expect(merged.report.mergedAdapters).toBe(tinyConfig.nLayers);
    expect(merged.model.graph.nodes.length).toBe(base.graph.nodes.length);
    const before = decoderWeightsFromModel(base).weights.get('model.layers.0.mlp.up_proj.weight')!;
    const after = decoderWeightsFromModel(merged.model).weights.get('model.layers.0.mlp.up_proj.weight')!;
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    const separate = await finetuneLora(base, { ...params, merge: false, adapterDtype: 'float32' }, ctxWith());
    expect(separate.report.separateAdapters).toBe(tinyConfig.nLayers);
    expect(separate.model.graph.nodes.length).toBe(base.graph.nodes.length + 3 * tinyConfig.nLayers);
    expect(separate.report.adapterBytes).toBe(4 * (separate.report.adapterParameters as number));
  });

  it('refuses to run without training tokens, a bad rank, and a base it cannot read', async () => {
    await expect(finetuneLora(q4, loraParams.parse({}), ctxWith({ trainingTokens: undefined }))).rejects.toThrow(/finetune.lora needs training tokens/);
    expect(loraParams.safeParse({ rank: 0 }).error!.issues[0]!.message).toBe('rank must be at least 1');
    const packed = (await quantizeRtn(base, rtnParams.parse({ bits: 3, groupSize: 16, format: 'bitpacked' }), ctxWith())).model;
    await expect(finetuneLora(packed, loraParams.parse({ steps: 1 }), ctxWith())).rejects.toThrow(/finetune.lora reads float, symmetric DequantizeLinear and MatMulNBits weights: .*missing initializer model.layers.0.self_attn.q_proj.weight.*bit-packed weights/);
  });
});
