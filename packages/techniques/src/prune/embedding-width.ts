/**
 * Embedding-width (hidden size) pruning as in Minitron (Muralidharan et al. 2024, "Compact
 * Language Models via Pruning and Knowledge Distillation", sec. 2.2, embedding channel
 * importance from the LayerNorm outputs): hidden dimension i scores the mean |x_i| over the
 * calibration tokens of every RMSNorm output (each block's two norms and the final norm),
 * summed over those norms. The lowest-scoring dimensions leave the residual stream
 * everywhere at once: columns of the embedding table, entries of every norm gain, rows of
 * q/k/v/gate/up and of the LM head, columns of o_proj and down_proj. Head count and
 * head_dim stay, so attention shapes are unchanged.
 */
import { z } from 'zod';
import { decoderWeightShapes, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { layersWithActivations } from '../calibrated-layers';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { decoderParts, finishStructured, structuredDistillParams } from './decoder-rebuild';
import { selectColumns, selectRows, topIndices, type StructuredResult } from './ffn-channels';

/** Which axis of a decoder weight runs over the hidden size, by its name; null: none does. */
export function hiddenAxis(name: string): 0 | 1 | null {
  if (name === 'model.embed_tokens.weight' || name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight')) return 1;
  if (name.endsWith('norm.weight') || name === 'lm_head.weight' || /(q|k|v|gate|up)_proj\.weight$/.test(name)) return 0;
  return null;
}

/** Sum over norm outputs of the mean |x_i| per hidden dimension; each entry is one norm's sum |x| over `count` tokens. */
export function hiddenImportance(norms: { sumAbs: ArrayLike<number>; count: number }[], hiddenSize: number, what = 'prune.width'): Float64Array {
  if (!norms.length) throw new Error(`${what}: no norm outputs captured to score the hidden dimensions`);
  const out = new Float64Array(hiddenSize);
  for (const n of norms) {
    if (n.sumAbs.length !== hiddenSize) throw new Error(`${what}: a norm output has ${n.sumAbs.length} channels, the hidden size is ${hiddenSize}`);
    if (!(n.count > 0)) throw new Error(`${what}: a norm output was seen on no calibration token`);
    for (let i = 0; i < hiddenSize; i++) out[i]! += n.sumAbs[i]! / n.count;
  }
  return out;
}

/** Keep the `keep` most important hidden dimensions in every weight that has one. */
export function pruneHiddenWidth(config: DecoderConfig, weights: DecoderWeights, importance: ArrayLike<number>, keep: number, what = 'prune.width'): StructuredResult {
  const D = config.hiddenSize;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`${what}: keeping ${keep} of ${D} hidden dimensions would remove the whole embedding width`);
  if (keep >= D) throw new Error(`${what}: keeping ${keep} of ${D} hidden dimensions removes nothing`);
  if (importance.length !== D) throw new Error(`${what}: ${importance.length} dimension scores, the hidden size is ${D}`);
  const idx = topIndices(importance, keep);
  const out: DecoderWeights = new Map(weights);
  for (const [name, shape] of decoderWeightShapes(config)) {
    const w = weights.get(name);
    if (!w) throw new Error(`${what}: the decoder has no weight ${name}`);
    const axis = hiddenAxis(name);
    if (axis === null) throw new Error(`${what}: no rule for the hidden axis of ${name}`);
    if (shape.length === 1) out.set(name, Float32Array.from(idx, (i) => w[i]!));
    else out.set(name, axis === 0 ? selectRows(w, shape[1]!, idx) : selectColumns(w, shape[0]!, shape[1]!, idx));
  }
  return { config: { ...config, hiddenSize: keep }, weights: out, kept: [idx] };
}

export const widthParams = z
  .object({
    /** Share of the hidden dimensions removed, in (0, 1). */
    ratio: z.number().gt(0).lt(1).optional(),
    /** Or the hidden size to keep. */
    keep: z.number().int().min(1).max(1 << 20).optional(),
    /** Distill the pruned model from the unpruned one right after pruning. */
    distill: structuredDistillParams.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.ratio === undefined) === (p.keep === undefined)) ctx.addIssue({ code: 'custom', path: ['ratio'], message: 'give exactly one of ratio and keep' });
  });
export type WidthParams = z.output<typeof widthParams>;

export async function pruneWidth(model: Model, params: WidthParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.width';
  const parts = decoderParts(
    model,
    what,
    "pruning GPT-2's embedding width is not built (n_embd also sets the head size n_embd / n_head, and the learned position table and every LayerNorm would have to shrink with it)",
  );
  const D = parts.config.hiddenSize;
  const keep = params.keep ?? D - Math.round(params.ratio! * D);
  if (keep < 1) throw new Error(`${what}: removing ${D - keep} of ${D} hidden dimensions would remove the whole embedding width`);
  if (keep >= D) throw new Error(`${what}: keeping ${keep} of ${D} hidden dimensions removes nothing`);
  // Norm outputs are what q (input_layernorm), gate (post_attention_layernorm) and the LM head (final norm) read.
  const { layers, stats } = await layersWithActivations(model, what, { roles: ['q', 'gate', 'lm_head'], lmHead: true, tiedHead: true }, ctx, false);
  const readers = new Set(layers.map((l) => l.role));
  for (const role of ['q', 'gate', 'lm_head'] as const) if (!readers.has(role)) throw new Error(`${what}: found no ${role} projection to read a norm output from`);
  const importance = hiddenImportance(layers.map((l) => stats.get(l.name)!), D, what);
  const r = pruneHiddenWidth(parts.config, parts.weights, importance, keep, what);
  const out = await finishStructured(model, parts, r, params.distill, ctx, { hiddenSizeBefore: D, hiddenSizeAfter: keep });
  ctx.onProgress(1, 'done');
  return out;
}

export const widthTechnique = defineTechnique({
  id: 'prune.width',
  family: 'prune',
  title: 'Embedding-width pruning (structured, Minitron importance)',
  description:
    'Removes the hidden dimensions with the smallest mean |activation| of the RMSNorm outputs on calibration data, from the embedding, ' +
    'every norm, q/k/v/o, the MLP and the LM head: a smaller dense model with a new hidden_size in its config.',
  params: widthParams,
  apply: pruneWidth,
});
