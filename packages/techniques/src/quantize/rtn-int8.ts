/**
 * quantize.rtn-int8: the int8 preset of quantize.rtn (8 bits, symmetric, one scale per
 * output channel, DequantizeLinear + MatMul). Each eligible MatMul weight W[in, out]
 * becomes an int8 initializer plus a float32 scale[out], so stock ONNX Runtime runs the
 * result and the file holds a quarter of the weight bytes.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { getOpsetVersion } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { quantizeRtn, rtnParams } from './rtn';

export const rtnInt8Params = z
  .object({
    /** A layer is left in float when its MatMul node name or weight name contains any of these. */
    skip: z.array(z.string().min(1)).default([]),
    /** Layers whose weight has fewer elements than this stay in float (scales would eat the gain). */
    minSize: z.number().int().nonnegative().default(0),
  })
  .strict();

export type RtnInt8Params = z.output<typeof rtnInt8Params>;

/** DequantizeLinear with per-axis scales needs opset 13. */
const MIN_OPSET = 13;

export async function quantizeRtnInt8(model: Model, params: RtnInt8Params, ctx: TechniqueContext): Promise<TechniqueResult> {
  const opset = getOpsetVersion(model, '') ?? 0;
  if (opset < MIN_OPSET) {
    throw new Error(`quantize.rtn-int8 needs opset >= ${MIN_OPSET} for per-channel DequantizeLinear; this model imports opset ${opset}`);
  }
  const full = rtnParams.parse({ bits: 8, symmetric: true, format: 'dequantize-linear', skip: params.skip, minSize: params.minSize });
  const out = await quantizeRtn(model, full, ctx, 'quantize.rtn-int8');
  const r = out.report;
  return {
    model: out.model,
    report: {
      layersQuantized: r.layersRewritten!,
      layersSkipped: r.layersSkipped!,
      skippedLayers: r.skippedLayers!,
      weightBytesBefore: r.weightBytesBefore!,
      weightBytesAfter: r.weightBytesAfter!,
      bitsPerWeight: r.bitsPerWeight!,
    },
  };
}

export const rtnInt8 = defineTechnique({
  id: 'quantize.rtn-int8',
  family: 'quantize',
  title: 'Round-to-nearest int8 (weight-only, per channel)',
  description:
    'Rounds every linear-layer weight to int8 with one symmetric scale per output channel (max|w|/127) and ' +
    'dequantizes it in the graph with DequantizeLinear. No calibration data; about 4x fewer weight bytes. ' +
    'The int8 preset of quantize.rtn.',
  params: rtnInt8Params,
  apply: quantizeRtnInt8,
});
