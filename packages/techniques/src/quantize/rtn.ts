/**
 * quantize.rtn: weight-only round-to-nearest, 2-8 bits, per output channel or per group of
 * input rows, symmetric or asymmetric (the RTN baseline of GPTQ, Frantar et al. 2022, sec. 2),
 * written as DequantizeLinear + MatMul or as com.microsoft MatMulNBits, with options for the
 * LM head and the embedding table. With `clipSearch` it picks each layer's clip ratio from
 * calibration activations (activation-clip.ts).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { captureActivations } from '../kit/capture-activations';
import { quantizeWeight, type QuantSpec } from '../kit/quantizer';
import { rewriteEmbeddings, EMBEDDING_STORAGE } from '../kit/rewrite-embedding';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { MATMULNBITS_BITS } from '../kit/formats/matmulnbits';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { chooseClip } from './activation-clip';

/** MatMulNBits' limits, checked when parameters are parsed; every method with a `format` shares it. */
export function checkMatMulNBitsParams(p: { format: string; bits: number; groupSize?: number }, ctx: z.RefinementCtx, bitsPath: (string | number)[] = ['bits']): void {
  if (p.format === 'matmulnbits' && !(MATMULNBITS_BITS as readonly number[]).includes(p.bits)) {
    ctx.addIssue({ code: 'custom', path: bitsPath, message: `format "matmulnbits" runs bits ${MATMULNBITS_BITS.join(', ')} in onnxruntime 1.30, not ${p.bits}; use format "dequantize-linear"` });
  }
  if (p.format === 'matmulnbits' && p.groupSize !== undefined && (p.groupSize < 16 || (p.groupSize & (p.groupSize - 1)) !== 0)) {
    ctx.addIssue({ code: 'custom', path: ['groupSize'], message: `format "matmulnbits" needs groupSize a power of two >= 16, got ${p.groupSize}` });
  }
}

export const rtnParams = z
  .object({
    ...linearSelectionParams,
    bits: z.number().int('bits must be an integer').min(2, 'bits must be in 2..8').max(8, 'bits must be in 2..8').default(4),
    /** Input rows per scale within an output channel; omitted = one scale per output channel. */
    groupSize: z.number().int('groupSize must be an integer').min(1, 'groupSize must be positive').optional(),
    symmetric: z.boolean().default(true),
    /**
     * How quantized layers are stored: DequantizeLinear (3 bits in 4-bit containers), MatMulNBits
     * (2, 4 and 8 bits), or bit-packed at the true width (any of 2..8), unpacked by stock ops
     * and folded into a float weight when ORT loads the model.
     */
    format: z.enum(['dequantize-linear', 'matmulnbits', 'bitpacked']).default('dequantize-linear'),
    /**
     * MatMulNBits accuracy_level: 4 computes with int8-quantized activations (fastest on CPU),
     * 0 with float32 activations. Also what ORT uses when it fuses DequantizeLinear + MatMul.
     */
    accuracyLevel: z.number().int().min(0).max(4).default(4),
    /** Storage of the token-embedding table. */
    embeddings: z.enum(EMBEDDING_STORAGE).default('keep'),
    /** Choose each layer's clip ratio from calibration activations (needs recipe.calibration). */
    clipSearch: z.boolean().default(false),
  })
  .strict()
  .superRefine((p, ctx) => checkMatMulNBitsParams(p, ctx));

export type RtnParams = z.output<typeof rtnParams>;

export async function quantizeRtn(model: Model, params: RtnParams, ctx: TechniqueContext, technique = 'quantize.rtn'): Promise<TechniqueResult> {
  const spec: QuantSpec = { bits: params.bits, symmetric: params.symmetric, groupSize: params.groupSize };
  const selection = selectLinearLayers(model, params);
  if (!selection.selected.length) throw noLayerMatched(technique, model, selection);
  let importance: Map<string, Float64Array> | undefined;
  if (params.clipSearch) {
    if (!ctx.calibration) throw new Error(`${technique}: clipSearch needs calibration data; add recipe.calibration`);
    const stats = await captureActivations(model, selection.selected, ctx.calibration, { signal: ctx.signal, onProgress: (f) => ctx.onProgress(0.5 * f, 'capturing activations') });
    importance = new Map([...stats].map(([name, s]) => [name, s.sumSq.map((v) => v / Math.max(1, s.count))]));
  }
  const clips: number[] = [];
  let gain = 0;
  const rewrite = await rewriteLinear(model, {
    technique,
    layers: selection.selected,
    format: params.format,
    accuracyLevel: params.accuracyLevel,
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(importance ? 0.5 + 0.5 * f : f, m) },
    method: (t) => {
      const h = importance?.get(t.name);
      if (!h) return { kind: 'quantized', weight: quantizeWeight(t.values, t.inFeatures, t.outFeatures, spec, t.name) };
      const best = chooseClip(t.values, t.inFeatures, t.outFeatures, spec, h, t.name);
      clips.push(best.clipRatio);
      gain += best.errorUnclipped > 0 ? 1 - best.error / best.errorUnclipped : 0;
      return { kind: 'quantized', weight: best.weight };
    },
  });
  const emb = rewriteEmbeddings(rewrite.model, params.embeddings);
  ctx.onProgress(1);
  const report = {
    ...rewrite.report,
    layersSkipped: selection.skipped.length,
    skippedLayers: selection.skipped.map((s) => s.name).join(','),
    bits: params.bits,
    groupSize: params.groupSize ?? 'per-channel',
    format: params.format,
    embeddingTables: emb.tables,
    embeddingBytesBefore: emb.bytesBefore,
    embeddingBytesAfter: emb.bytesAfter,
    ...(clips.length
      ? {
          calibrationSequences: ctx.calibration!.sequences.length,
          calibrationTokens: ctx.calibration!.sequences.reduce((n, s) => n + s.length, 0),
          meanClipRatio: clips.reduce((a, b) => a + b, 0) / clips.length,
          meanWeightedErrorReduction: gain / clips.length,
        }
      : {}),
  };
  if (params.embeddings !== 'keep' && emb.tables === 0) ctx.log.warn(`${technique}: embeddings=${params.embeddings} found no embedding table to rewrite`);
  return { model: emb.model, report };
}

export const rtn = defineTechnique({
  id: 'quantize.rtn',
  family: 'quantize',
  title: 'Round-to-nearest weight quantization (2-8 bits)',
  description:
    'Rounds linear-layer weights to 2-8 bit integers with one scale per output channel or per group of input rows, ' +
    'symmetric or asymmetric, stored as DequantizeLinear + MatMul or MatMulNBits (2, 4, 8 bits). Optional ' +
    'activation-weighted clip search on calibration data; options for the LM head and the embedding table.',
  params: rtnParams,
  apply: (model, params, ctx) => quantizeRtn(model, params, ctx),
});
