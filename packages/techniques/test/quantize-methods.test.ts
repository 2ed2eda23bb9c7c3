import { describe, expect, it } from 'vitest';
import { causalLm, createSession } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { inspectModel, type Model } from '@distillery/onnx';
import {
  chooseClip,
  dequantizeWeight,
  parseRecipe,
  quantizeWeight,
  quietContext,
  registry,
  selectLinearLayers,
  weightedError,
  type CalibrationSet,
} from '../src';
import { seededUniform } from './mlp-fixture';

const config = decoderPreset('tiny');
const weights = initDecoderWeights(config, 11, 0.3);
const fp32 = buildDecoder(config, weights);
const fp16 = buildDecoder(config, weights, { weightDtype: 'float16' });
const tokens = Int32Array.from({ length: 24 }, (_, i) => (i * 11 + 5) % config.vocabSize);
const calibration: CalibrationSet = { sequences: [tokens.slice(0, 16), tokens.slice(8, 24)] };

async function logits(model: Model): Promise<Float32Array> {
  const s = await createSession(model);
  try {
    return (await causalLm(s).forward(tokens)).logits;
  } finally {
    await s.release();
  }
}

function relError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) (num += (a[i]! - b[i]!) ** 2), (den += b[i]! ** 2);
  return Math.sqrt(num / den);
}

async function apply(id: string, model: Model, params: unknown, ctx = quietContext()) {
  const t = registry.get(id);
  return t.apply(model, t.params.parse(params), ctx);
}

describe('quantize.rtn', () => {
  it('4-bit MatMulNBits with the LM head and int8 embeddings: stock ORT runs it, logits stay close, sizes are honest', async () => {
    const out = await apply('quantize.rtn', fp16, { bits: 4, groupSize: 32, format: 'matmulnbits', embeddings: 'int8' });
    const ops = inspectModel(out.model).opHistogram;
    expect(ops['com.microsoft.MatMulNBits']).toBe(2 * 7 + 1);
    // No float MatMul is left: attention (one GroupQueryAttention per block) stays as it was.
    expect(ops.MatMul ?? 0).toBe(0);
    expect(ops['com.microsoft.GroupQueryAttention']).toBe(2);
    expect(out.report).toMatchObject({ layersRewritten: 15, embeddingTables: 1, bits: 4, groupSize: 32, format: 'matmulnbits' });
    expect(out.report.bitsPerWeight).toBe(5); // 4 + 32/32: one float32 scale per 32 weights
    const ref = await logits(fp32);
    const err = relError(await logits(out.model), ref);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(1);
    // The same path at 8 bits is far closer: the error is rounding, not a broken layout.
    const eight = await apply('quantize.rtn', fp16, { bits: 8, groupSize: 32, format: 'matmulnbits', embeddings: 'int8' });
    expect(relError(await logits(eight.model), ref)).toBeLessThan(err / 4);
  });

  it('keeps the LM head in float when lmHead is false; 3-bit DequantizeLinear stores int4 codes', async () => {
    const out = await apply('quantize.rtn', fp32, { bits: 3, symmetric: false, lmHead: false });
    expect(out.report).toMatchObject({ layersRewritten: 14, skippedLayers: '/lm_head/MatMul' });
    expect(out.model.graph.initializers.filter((t) => t.dtype === 'uint4')).toHaveLength(2 * 14); // codes + zero points
    expect(out.model.graph.initializers.find((t) => t.name === 'lm_head.weight')?.dtype).toBe('float32');
    // Smaller groups follow the weights more closely: the per-channel error is the larger one.
    const grouped = await apply('quantize.rtn', fp32, { bits: 3, symmetric: false, lmHead: false, groupSize: 16 });
    const ref = await logits(fp32);
    expect(relError(await logits(grouped.model), ref)).toBeLessThan(relError(await logits(out.model), ref));
  });

  it('refuses bad parameters naming them', () => {
    const bad = (params: unknown) => () => parseRecipe({ steps: [{ technique: 'quantize.rtn', params }] });
    expect(bad({ bits: 3, format: 'matmulnbits' })).toThrow(/steps\[0\]\.params\.bits: format "matmulnbits" runs bits 2, 4, 8 in onnxruntime 1\.30, not 3/);
    expect(bad({ bits: 4, format: 'matmulnbits', groupSize: 48 })).toThrow(/steps\[0\]\.params\.groupSize: format "matmulnbits" needs groupSize a power of two/);
    expect(bad({ bits: 9 })).toThrow(/steps\[0\]\.params\.bits: bits must be in 2\.\.8/);
    expect(bad({ roles: ['qq'] })).toThrow(/steps\[0\]\.params\.roles\[0\]/);
  });

  it('a group larger than a layer names the layer; a selection that matches nothing lists what exists', async () => {
    await expect(apply('quantize.rtn', fp32, { groupSize: 128 })).rejects.toThrow(/\/model\/layers\.0\/self_attn\/q_proj\/MatMul: groupSize 128 is larger than the layer's 32 input features/);
    await expect(apply('quantize.rtn', fp32, { blocks: [7] })).rejects.toThrow(/quantize\.rtn: no linear layer matched the selection; found 15: .*block 0 is not in blocks/);
  });

  it('clipSearch: picks the clip ratio with the least activation-weighted error, and needs calibration', async () => {
    await expect(apply('quantize.rtn', fp32, { bits: 3, clipSearch: true })).rejects.toThrow(/clipSearch needs calibration data; add recipe\.calibration/);
    const plain = await apply('quantize.rtn', fp32, { bits: 3 });
    const searched = await apply('quantize.rtn', fp32, { bits: 3, clipSearch: true }, quietContext({ calibration }));
    expect(searched.report).toMatchObject({ calibrationSequences: 2, calibrationTokens: 32 });
    expect(Number(searched.report.meanClipRatio)).toBeLessThan(1);
    expect(Number(searched.report.meanWeightedErrorReduction)).toBeGreaterThan(0);
    const ref = await logits(fp32);
    expect(relError(await logits(searched.model), ref)).toBeLessThan(relError(await logits(plain.model), ref));
  });

  it('chooseClip equals a brute-force search over the same candidates', () => {
    const rows = 32;
    const cols = 6;
    const w = seededUniform(rows * cols, 9);
    w[5] = 4; // an outlier that clipping should trade off
    const h = Float64Array.from({ length: rows }, (_, i) => 1 + (i % 5));
    const spec = { bits: 3, symmetric: true };
    const best = chooseClip(w, rows, cols, spec, h, 'l');
    const errors = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7].map((c) => {
      const q = dequantizeWeight(quantizeWeight(w, rows, cols, { ...spec, clipRatio: c }));
      let e = 0;
      for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) e += h[r]! * (w[r * cols + k]! - q[r * cols + k]!) ** 2;
      return e;
    });
    const argmin = errors.indexOf(Math.min(...errors));
    expect(best.clipRatio).toBe([1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7][argmin]);
    expect(best.error).toBeCloseTo(errors[argmin]!, 9);
    expect(weightedError(w, dequantizeWeight(best.weight), rows, cols, h)).toBeCloseTo(best.error, 9);
  });
});

describe('quantize.dynamic-int8, quantize.fp16, quantize.bf16', () => {
  it('dynamic int8 writes DynamicQuantizeLinear + MatMulInteger that ORT runs close to float', async () => {
    const out = await apply('quantize.dynamic-int8', fp16, {});
    const ops = inspectModel(out.model).opHistogram;
    expect(ops.MatMulInteger).toBe(15);
    expect(ops.DynamicQuantizeLinear).toBe(15);
    expect(out.report.bitsPerWeight).toBeCloseTo(8 + 32 / 32, 0); // tiny layers: one scale per 32-64 weights
    // 7-bit weight codes (reduce_range) and 8-bit activations on a tiny random model.
    expect(relError(await logits(out.model), await logits(fp32))).toBeLessThan(0.2);
  });

  it('fp16 and bf16 store half the weight bytes; an fp16 model is refused by fp16 (nothing to change)', async () => {
    const half = await apply('quantize.fp16', fp32, {});
    expect(half.report).toMatchObject({ bitsPerWeight: 16, embeddingTables: 1 });
    expect(relError(await logits(half.model), await logits(fp32))).toBeLessThan(5e-3);
    const bf = await apply('quantize.bf16', fp32, {});
    expect(bf.model.graph.initializers.filter((t) => t.dtype === 'bfloat16')).toHaveLength(16);
    expect(relError(await logits(bf.model), await logits(fp32))).toBeLessThan(2e-2);
    await expect(apply('quantize.fp16', fp16, {})).rejects.toThrow(/quantize\.fp16: changed no layer/);
  });

  it('every layer of the float16 model is selected (weights behind a Cast)', () => {
    expect(selectLinearLayers(fp16).selected.map((l) => l.layer.computeDtype)).toEqual(Array(15).fill('float32'));
  });
});

describe('a tied LM head (MatMul over the Transpose of the embedding table)', () => {
  const tiedConfig = decoderPreset('tiny', { tieEmbeddings: true });
  const tiedWeights = initDecoderWeights(tiedConfig, 12, 0.3);
  const embed = tiedWeights.get('model.embed_tokens.weight')!;
  const [v, d] = [tiedConfig.vocabSize, tiedConfig.hiddenSize];
  const head = new Float32Array(v * d);
  for (let r = 0; r < v; r++) for (let c = 0; c < d; c++) head[c * v + r] = embed[r * d + c]!;
  const untiedConfig = decoderPreset('tiny', { tieEmbeddings: false });
  const untied = buildDecoder(untiedConfig, new Map([...tiedWeights, ['lm_head.weight', head]]));

  for (const dtype of ['float32', 'float16'] as const) {
    it(`is left alone by default and, with tiedHead, quantized exactly like the same head untied (${dtype} table)`, async () => {
      const tied = buildDecoder(tiedConfig, tiedWeights, { weightDtype: dtype });
      const params = { bits: 4, groupSize: 32, format: 'matmulnbits' };
      const plain = await apply('quantize.rtn', tied, params);
      expect(plain.report).toMatchObject({ layersRewritten: 14, skippedLayers: '/lm_head/MatMul' });
      const out = await apply('quantize.rtn', tied, { ...params, tiedHead: true });
      expect(out.report).toMatchObject({ layersRewritten: 15 });
      expect(out.model.graph.nodes.some((n) => n.opType === 'Transpose' && n.name === '/lm_head/Transpose')).toBe(false);
      expect(out.model.graph.nodes.filter((n) => n.opType === 'MatMulNBits')).toHaveLength(15);
      // The table stays for the embedding lookup.
      expect(out.model.graph.initializers.some((t) => t.name === 'model.embed_tokens.weight')).toBe(true);
      const reference = await apply('quantize.rtn', dtype === 'float32' ? untied : buildDecoder(untiedConfig, new Map([...tiedWeights, ['lm_head.weight', head]]), { weightDtype: dtype }), params);
      const [a, b] = [await logits(out.model), await logits(reference.model)];
      expect(relError(a, b)).toBeLessThan(1e-6);
    });
  }
});
