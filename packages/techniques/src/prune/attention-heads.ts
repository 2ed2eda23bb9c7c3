/**
 * Attention head pruning under grouped-query attention (Minitron, Muralidharan et al. 2024,
 * sec. 2.2, head importance from the heads' outputs; GQA, Ainslie et al. 2023): a KV head and
 * the group of query heads reading it are one unit, so whole groups are removed. A group's
 * importance is the L2 norm of its query heads' outputs over the calibration tokens (the
 * input of o_proj, whose columns h*hd..(h+1)*hd belong to head h). q_proj loses the group's
 * columns, k_proj and v_proj the KV head's columns, o_proj the rows of its query heads.
 */
import { z } from 'zod';
import { layerPrefix, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { layersWithActivations } from '../calibrated-layers';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { decoderParts, finishStructured, structuredDistillParams } from './decoder-rebuild';
import { selectColumns, selectRows, topIndices, type StructuredResult } from './ffn-channels';

/** Sum over each KV group of its query heads' squared output norms (from o_proj input energy per channel). */
export function headGroupImportance(config: DecoderConfig, channelEnergy: ArrayLike<number>): Float64Array {
  const { nHeads, nKvHeads, headDim: hd } = config;
  if (channelEnergy.length !== nHeads * hd) throw new Error(`head importance: ${channelEnergy.length} channels, expected ${nHeads} heads x ${hd}`);
  const group = nHeads / nKvHeads;
  const out = new Float64Array(nKvHeads);
  for (let h = 0; h < nHeads; h++) for (let j = 0; j < hd; j++) out[Math.floor(h / group)]! += channelEnergy[h * hd + j]!;
  return out.map(Math.sqrt);
}

/** Keep `keepGroups` KV groups per layer by `importance[layer][kvHead]`. */
export function pruneHeadGroups(config: DecoderConfig, weights: DecoderWeights, importance: ArrayLike<number>[], keepGroups: number, what = 'prune.heads'): StructuredResult {
  const { nHeads, nKvHeads, headDim: hd, hiddenSize: D } = config;
  const group = nHeads / nKvHeads;
  if (!Number.isInteger(keepGroups) || keepGroups < 1) throw new Error(`${what}: keeping ${keepGroups} of ${nKvHeads} KV head groups would prune every head of a layer`);
  if (keepGroups >= nKvHeads) throw new Error(`${what}: keeping ${keepGroups} of ${nKvHeads} KV head groups removes nothing`);
  if (importance.length !== config.nLayers) throw new Error(`${what}: importance for ${importance.length} layers, the model has ${config.nLayers}`);
  const out: DecoderWeights = new Map(weights);
  const kept: number[][] = [];
  const dims = (heads: number[]) => heads.flatMap((h) => Array.from({ length: hd }, (_, j) => h * hd + j));
  for (let i = 0; i < config.nLayers; i++) {
    const imp = importance[i]!;
    if (imp.length !== nKvHeads) throw new Error(`${what}: layer ${i} has ${imp.length} group scores, expected ${nKvHeads}`);
    const groups = topIndices(imp, keepGroups);
    kept.push(groups);
    const qHeads = groups.flatMap((g) => Array.from({ length: group }, (_, j) => g * group + j));
    const p = `${layerPrefix(i)}.self_attn`;
    out.set(`${p}.q_proj.weight`, selectColumns(weights.get(`${p}.q_proj.weight`)!, D, nHeads * hd, dims(qHeads)));
    out.set(`${p}.k_proj.weight`, selectColumns(weights.get(`${p}.k_proj.weight`)!, D, nKvHeads * hd, dims(groups)));
    out.set(`${p}.v_proj.weight`, selectColumns(weights.get(`${p}.v_proj.weight`)!, D, nKvHeads * hd, dims(groups)));
    out.set(`${p}.o_proj.weight`, selectRows(weights.get(`${p}.o_proj.weight`)!, D, dims(qHeads)));
  }
  return { config: { ...config, nHeads: keepGroups * group, nKvHeads: keepGroups }, weights: out, kept };
}

export const headsParams = z
  .object({
    /** KV head groups (a KV head and its query heads) removed from every layer. */
    groups: z.number().int().min(1).max(4096),
    /** Distill the pruned model from the unpruned one right after pruning. */
    distill: structuredDistillParams.optional(),
  })
  .strict();
export type HeadsParams = z.output<typeof headsParams>;

export async function pruneHeads(model: Model, params: HeadsParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.heads';
  // Not a missing feature of this code alone: a model with fewer heads of the same size has no GPT-2 config.json.
  const parts = decoderParts(
    model,
    what,
    "GPT-2's config.json has no head size of its own (head_dim = n_embd / n_head, and c_attn is n_embd -> 3 x n_embd), so a GPT-2 with fewer heads cannot be described or loaded as GPT-2",
  );
  const { nKvHeads, nHeads } = parts.config;
  const keep = nKvHeads - params.groups;
  if (keep < 1) throw new Error(`${what}: removing ${params.groups} of ${nKvHeads} KV head groups would prune every head of a layer`);
  // Head outputs are o_proj's input: channel energy sum_t x^2, summed per head and per KV group.
  const { layers, stats } = await layersWithActivations(model, what, { roles: ['o'], lmHead: false }, ctx, false);
  const importance: Float64Array[] = new Array(parts.config.nLayers);
  for (const l of layers) if (l.block !== null && l.block < parts.config.nLayers) importance[l.block] = headGroupImportance(parts.config, stats.get(l.name)!.sumSq);
  const missing = importance.findIndex((v) => v === undefined);
  if (missing >= 0 || importance.length !== parts.config.nLayers) throw new Error(`${what}: no o_proj activations captured for block ${missing}`);
  const r = pruneHeadGroups(parts.config, parts.weights, importance, keep, what);
  const out = await finishStructured(model, parts, r, params.distill, ctx, {
    headsBefore: nHeads,
    headsAfter: r.config.nHeads,
    kvHeadsAfter: r.config.nKvHeads,
    keptGroups: r.kept.map((k) => k.join('+')).join(','),
  });
  ctx.onProgress(1, 'done');
  return out;
}

export const headsTechnique = defineTechnique({
  id: 'prune.heads',
  family: 'prune',
  title: 'Attention head pruning (structured, GQA-aware)',
  description:
    'Removes whole KV head groups (a KV head with the query heads that read it) with the smallest output norm on calibration data, ' +
    'the same count in every block: a smaller dense model with fewer attention heads in its config.',
  params: headsParams,
  apply: pruneHeads,
});
