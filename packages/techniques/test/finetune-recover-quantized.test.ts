import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildDecoder, decoderWeightShapes, decoderWeightsFromModel } from '@distillery/nn';
import { serializeModel, tensorToFloat32, type Model } from '@distillery/onnx';
import { finetuneQat, finetuneRecover, qatParams, quantizeBlockLinears, quantizeRtnInt8, recoverParams, rtnInt8Params, writeQuantizedWeights, quietContext } from '../src';
import { ctxWith, testPerplexity, tinyConfig, trainTinyModel, pruneHalf } from './finetune-tiny-lm';

let base: Model;
beforeAll(async () => {
  base = await trainTinyModel(1000);
});

const int8Of = async (m: Model) => (await quantizeRtnInt8(m, rtnInt8Params.parse({}), ctxWith())).model;
const int8Weights = (m: Model) => m.graph.initializers.filter((t) => t.dtype === 'int8');
const dequantizers = (m: Model) => m.graph.nodes.filter((n) => n.opType === 'DequantizeLinear');
const bytes = (m: Model) => serializeModel(m).model.byteLength;

/** Logits of a few tokens with ORT graph optimizations off, so the graph runs as written. */
async function logits(m: Model): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(m).model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' });
  try {
    const ids = [5, 17, 3, 88, 42, 1];
    const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
    const feeds: Record<string, ort.Tensor> = { input_ids: t(ids), attention_mask: t(ids.map(() => 1)), position_ids: t(ids.map((_, i) => i)) };
    const empty = new ort.Tensor('float32', new Float32Array(0), [1, tinyConfig.nKvHeads, 0, tinyConfig.headDim]);
    for (const n of s.inputNames) if (n.startsWith('past_key_values.')) feeds[n] = empty;
    return (await s.run(feeds)).logits!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/**
 * The same function with one outlier FFN channel per block: up_proj column j / a and
 * down_proj row j * a cancel (silu(gate) * up is linear in up), but row j then sets every
 * down_proj column's int8 scale, so the other rows round on a grid a times coarser — the
 * outlier-feature effect that makes per-channel int8 hurt (Dettmers et al. 2022, LLM.int8(), sec. 3).
 */
function withOutlierChannel(model: Model, a: number, j = 0): Model {
  const { config, weights } = decoderWeightsFromModel(model);
  const F = config.ffnSize;
  const D = config.hiddenSize;
  for (let i = 0; i < config.nLayers; i++) {
    const up = weights.get(`model.layers.${i}.mlp.up_proj.weight`)!; // [D, F]
    const down = weights.get(`model.layers.${i}.mlp.down_proj.weight`)!; // [F, D]
    for (let r = 0; r < D; r++) up[r * F + j] = up[r * F + j]! / a;
    for (let c = 0; c < D; c++) down[j * D + c] = down[j * D + c]! * a;
  }
  return buildDecoder(config, weights);
}

describe('finetune.recover on quantize.rtn-int8 models', () => {
  it('reads the int8 grid back exactly: dequantized weights, 8 bits per channel, no group off grid', async () => {
    const q = await int8Of(base);
    const read = decoderWeightsFromModel(q);
    expect(read.quantized.size).toBe(7 * tinyConfig.nLayers + 1); // + lm_head
    const lm = read.quantized.get('lm_head.weight')!;
    expect(lm).toMatchObject({ dtype: 'int8', bits: 8, groupSize: tinyConfig.hiddenSize });
    // Slow reference: DequantizeLinear(axis=1) = q[r, c] * scale[c] from the stored tensors.
    const qt = q.graph.initializers.find((t) => t.name === lm.quantizedInitializer)!;
    const st = tensorToFloat32(q.graph.initializers.find((t) => t.name === lm.scaleInitializer)!);
    const qv = tensorToFloat32(qt);
    const V = tinyConfig.vocabSize;
    const w = read.weights.get('lm_head.weight')!;
    for (let i = 0; i < w.length; i++) expect(w[i]).toBe(Math.fround(qv[i]! * st[i % V]!));
    // The float rebuild of the dequantized weights computes the int8 model's function, bit for bit
    // with graph optimizations off (at 'all', ORT rewrites DequantizeLinear + MatMul and the logits move by ~0.07).
    expect(Array.from(await logits(buildDecoder(read.config, read.weights)))).toEqual(Array.from(await logits(q)));
  });

  it('returns int8 DequantizeLinear weights of the same count and byte size that load in ORT, keeping integer zeros at zero', async () => {
    const input = await int8Of(pruneHalf(base));
    const out = await finetuneRecover(input, recoverParams.parse({ steps: 30, lr: 1e-3, seqLen: 64, seed: 2 }), ctxWith());
    expect(int8Weights(out.model)).toHaveLength(int8Weights(input).length);
    expect(dequantizers(out.model).map((n) => n.name)).toEqual(dequantizers(input).map((n) => n.name));
    expect(Math.abs(bytes(out.model) - bytes(input))).toBeLessThanOrEqual(8);
    expect(out.report).toMatchObject({ steps: 30, quantizedLayers: int8Weights(input).length, bits: 8, groupSize: 'per-channel', groupsOffGrid: 0 });
    expect(out.report.changedIntegers).toBeGreaterThan(0);
    const s = await ort.InferenceSession.create(serializeModel(out.model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    await s.release();

    const before = new Map(int8Weights(input).map((t) => [t.name, tensorToFloat32(t)]));
    let zeros = 0;
    for (const t of int8Weights(out.model)) {
      const was = before.get(t.name)!;
      const now = tensorToFloat32(t);
      for (let i = 0; i < now.length; i++) {
        if (was[i] !== 0) continue;
        zeros++;
        if (now[i] !== 0) expect.fail(`${t.name}[${i}] was 0 and became ${now[i]}`);
      }
    }
    // Half of every block projection was pruned, so the frozen zeros are many.
    expect(zeros).toBeGreaterThan(0.4 * 7 * tinyConfig.nLayers * tinyConfig.hiddenSize * tinyConfig.hiddenSize);
    expect(zeros).toBe(out.report.zeroWeightsKept);
  });

  it('lowers the perplexity of an int8 model that rounding hurt (outlier channel), staying int8', async () => {
    const coarse = withOutlierChannel(base, 400);
    const input = await int8Of(coarse);
    const out = await finetuneRecover(input, recoverParams.parse({ steps: 80, lr: 1e-3, seqLen: 64, seed: 4 }), ctxWith());
    const [pf, po, pq, pr] = [await testPerplexity(base), await testPerplexity(coarse), await testPerplexity(input), await testPerplexity(out.model)];
    console.log(`recover int8: float ${pf.toFixed(3)}, outlier float ${po.toFixed(3)}, rtn-int8 ${pq.toFixed(3)}, recovered int8 ${pr.toFixed(3)}`);
    expect(po).toBeCloseTo(pf, 2); // the outlier rewrite preserves the function
    expect(pq - pf).toBeGreaterThan(0.3); // rounding hurts measurably (0.82 measured)
    expect(pr).toBeLessThan(pq - 0.5 * (pq - pf));
    expect(int8Weights(out.model)).toHaveLength(int8Weights(input).length);
  });
});

describe('finetune.recover on int4 (finetune.qat format) models', () => {
  /** Plain round-to-nearest in the QAT emitter's format, without training. */
  async function rtnInt4(model: Model, bits: number, groupSize?: number): Promise<Model> {
    const { config, weights } = decoderWeightsFromModel(model);
    return (await writeQuantizedWeights(model, quantizeBlockLinears(weights, decoderWeightShapes(config), { bits, groupSize, clipRatio: 1 }), { technique: 'test', ctx: quietContext() })).model;
  }

  it('recovers most of a 3-bit rounding loss and keeps the packed int4 format', async () => {
    const input = await rtnInt4(base, 3);
    const out = await finetuneRecover(input, recoverParams.parse({ steps: 80, lr: 1e-3, seqLen: 64, seed: 6 }), ctxWith());
    const [pf, pq, pr] = [await testPerplexity(base), await testPerplexity(input), await testPerplexity(out.model)];
    console.log(`recover int4 (3-bit grid): float ${pf.toFixed(3)}, rtn ${pq.toFixed(3)}, recovered ${pr.toFixed(3)}`);
    expect(out.report).toMatchObject({ bits: 3, groupSize: 'per-channel', groupsOffGrid: 0, quantizedLayers: 7 * tinyConfig.nLayers });
    expect(pr).toBeLessThan(pq - 0.5 * (pq - pf));
    const int4 = out.model.graph.initializers.filter((t) => t.dtype === 'int4');
    expect(int4).toHaveLength(7 * tinyConfig.nLayers);
    // Still a 3-bit grid: integers within [-4, 3].
    for (const t of int4) for (const v of tensorToFloat32(t)) if (v < -4 || v > 3) expect.fail(`${t.name} holds ${v}`);
    expect(bytes(out.model)).toBe(bytes(input));
  });

  it('takes finetune.qat output with per-group scales (blocked DequantizeLinear) and keeps the grouping', async () => {
    const qat = (await finetuneQat(base, qatParams.parse({ steps: 3, seqLen: 32, groupSize: 16 }), ctxWith())).model;
    const out = await finetuneRecover(qat, recoverParams.parse({ steps: 3, seqLen: 32, freezeZeros: false }), ctxWith());
    expect(out.report).toMatchObject({ bits: 4, groupSize: 16, groupsOffGrid: 0, maskedWeights: 0, zeroWeightsKept: 0 });
    expect(dequantizers(out.model).every((n) => n.attributes.block_size?.value === 16)).toBe(true);
    expect(bytes(out.model)).toBe(bytes(qat));
    expect(Number.isFinite(await testPerplexity(out.model))).toBe(true);
  });
});

describe('finetune.recover refusals', () => {
  it('names MatMulNBits when the model uses it', async () => {
    const q = await int8Of(base);
    // Stand-in for an ORT-quantized model: one projection behind a com.microsoft MatMulNBits node.
    const nodes = q.graph.nodes.map((n) =>
      n.name === '/model/layers.0/mlp/up_proj/MatMul' ? { ...n, opType: 'MatMulNBits', domain: 'com.microsoft', name: '/model/layers.0/mlp/up_proj/MatMul_Q4' } : n,
    );
    const nbits = { ...q, graph: { ...q.graph, nodes } };
    await expect(finetuneRecover(nbits, recoverParams.parse({ steps: 1 }), ctxWith())).rejects.toThrow(/MatMulNBits.*up_proj/);
  });
});
