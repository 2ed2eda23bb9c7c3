/**
 * quantize.dynamic-int8: int8 weights and int8 activations quantized at run time, as
 * onnxruntime's quantize_dynamic produces (DynamicQuantizeLinear + MatMulInteger; Jacob et
 * al. 2018, sec. 2.2 integer-arithmetic matmul), with one symmetric weight scale per output
 * channel. ORT fuses the pattern into DynamicQuantizeMatMul. Weights use 7-bit codes (quantize_dynamic's
 * reduce_range), stored as int8, so ORT's int16 pair sums cannot saturate on CPUs without VNNI.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { quantizeForMatMulInteger } from '../kit/formats/matmul-integer';
import { rewriteEmbeddings, EMBEDDING_STORAGE } from '../kit/rewrite-embedding';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams } from '../kit/select-linear';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';

export const dynamicInt8Params = z
  .object({ ...linearSelectionParams, embeddings: z.enum(EMBEDDING_STORAGE).default('keep') })
  .strict();
export type DynamicInt8Params = z.output<typeof dynamicInt8Params>;

export async function quantizeDynamicInt8(model: Model, params: DynamicInt8Params, ctx: TechniqueContext): Promise<TechniqueResult> {
  const technique = 'quantize.dynamic-int8';
  const rewrite = await rewriteLinear(model, {
    technique,
    selection: params,
    format: 'matmul-integer',
    ctx,
    method: (t) => ({ kind: 'quantized', weight: quantizeForMatMulInteger(t.values, t.inFeatures, t.outFeatures, t.name) }),
  });
  const emb = rewriteEmbeddings(rewrite.model, params.embeddings);
  ctx.onProgress(1);
  return { model: emb.model, report: { ...rewrite.report, embeddingTables: emb.tables, embeddingBytesAfter: emb.bytesAfter } };
}

export const dynamicInt8 = defineTechnique({
  id: 'quantize.dynamic-int8',
  family: 'quantize',
  title: 'Dynamic int8 (int8 weights, int8 activations at run time)',
  description:
    'Per-channel symmetric int8 weights multiplied by activations quantized to uint8 at run time ' +
    '(DynamicQuantizeLinear + MatMulInteger), as onnxruntime quantize_dynamic does. No calibration data.',
  params: dynamicInt8Params,
  apply: quantizeDynamicInt8,
});
