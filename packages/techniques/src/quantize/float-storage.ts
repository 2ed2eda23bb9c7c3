/**
 * quantize.fp16 and quantize.bf16: storage baselines. Linear-layer weights (and, by
 * default, the embedding table) are stored as float16 / bfloat16 and cast back to the
 * compute dtype in the graph, halving weight bytes; compute stays float32. A model already
 * stored in that dtype is refused (nothing would change).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { rewriteEmbeddings } from '../kit/rewrite-embedding';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams } from '../kit/select-linear';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';

export const fp16Params = z.object({ ...linearSelectionParams, embeddings: z.enum(['keep', 'float16']).default('float16') }).strict();
export const bf16Params = z.object({ ...linearSelectionParams, embeddings: z.enum(['keep', 'bfloat16']).default('bfloat16') }).strict();

async function storeAs(model: Model, dtype: 'float16' | 'bfloat16', params: z.output<typeof fp16Params> | z.output<typeof bf16Params>, ctx: TechniqueContext, technique: string): Promise<TechniqueResult> {
  const rewrite = await rewriteLinear(model, {
    technique,
    selection: params,
    ctx,
    method: (t) => (t.storedDtype === dtype ? null : { kind: 'dense', values: t.values, dtype }),
  });
  const emb = rewriteEmbeddings(rewrite.model, params.embeddings);
  ctx.onProgress(1);
  return { model: emb.model, report: { ...rewrite.report, embeddingTables: emb.tables, embeddingBytesAfter: emb.bytesAfter } };
}

export const fp16 = defineTechnique({
  id: 'quantize.fp16',
  family: 'quantize',
  title: 'float16 weight storage',
  description: 'Stores linear-layer weights and the embedding table as float16, cast to float32 in the graph. The 16-bit storage baseline.',
  params: fp16Params,
  apply: (model, params, ctx) => storeAs(model, 'float16', params, ctx, 'quantize.fp16'),
});

export const bf16 = defineTechnique({
  id: 'quantize.bf16',
  family: 'quantize',
  title: 'bfloat16 weight storage',
  description: 'Stores linear-layer weights and the embedding table as bfloat16 (float32 range, 8-bit mantissa), cast to float32 in the graph.',
  params: bf16Params,
  apply: (model, params, ctx) => storeAs(model, 'bfloat16', params, ctx, 'quantize.bf16'),
});
