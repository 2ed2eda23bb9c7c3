/**
 * FFN channel (neuron) pruning as in Minitron (Muralidharan et al. 2024, "Compact Language
 * Models via Pruning and Knowledge Distillation", sec. 2.2): channel i of a SwiGLU MLP is
 * column i of gate_proj and up_proj and row i of down_proj; the channels with the smallest
 * activation importance go, and the intermediate size shrinks by the same count in every
 * layer (one ffnSize in the config). Importance of channel i: mean |h_i| over calibration
 * tokens of down_proj's input h = silu(x Wg) * (x Wu).
 */
import { z } from 'zod';
import { gpt2BlockPrefix, layerPrefix, type DecoderConfig, type DecoderWeights, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { layersWithActivations } from '../calibrated-layers';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { decoderParts, finishStructured, structuredDistillParams } from './decoder-rebuild';
import { finishGpt2Structured, gpt2Parts, refuseGpt2Distill } from './gpt2-rebuild';

/** Indices of the `keep` largest scores, in ascending index order (ties: lower index wins). */
export function topIndices(score: ArrayLike<number>, keep: number): number[] {
  const order = Array.from({ length: score.length }, (_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

export function selectColumns(w: Float32Array, rows: number, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(rows * keep.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < keep.length; j++) out[r * keep.length + j] = w[r * cols + keep[j]!]!;
  return out;
}

export function selectRows(w: Float32Array, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(keep.length * cols);
  keep.forEach((r, j) => out.set(w.subarray(r * cols, (r + 1) * cols), j * cols));
  return out;
}

export interface StructuredResult {
  config: DecoderConfig;
  weights: DecoderWeights;
  /** What was kept, per layer (channel, head or block indices of the input model). */
  kept: number[][];
}

/** Refuses a kept size that removes every channel or none, and importance of the wrong shape. */
function checkFfnTarget(F: number, nLayers: number, importance: ArrayLike<number>[], keep: number, what: string): void {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`${what}: keeping ${keep} of ${F} FFN channels would remove every channel of the MLP`);
  if (keep >= F) throw new Error(`${what}: keeping ${keep} of ${F} FFN channels removes nothing`);
  if (importance.length !== nLayers) throw new Error(`${what}: importance for ${importance.length} layers, the model has ${nLayers}`);
  importance.forEach((imp, i) => {
    if (imp.length !== F) throw new Error(`${what}: layer ${i} has ${imp.length} channel scores, expected ${F}`);
  });
}

/** Keep `keep` channels per layer by `importance[layer][channel]`. */
export function pruneFfnChannels(config: DecoderConfig, weights: DecoderWeights, importance: ArrayLike<number>[], keep: number, what = 'prune.ffn-channels'): StructuredResult {
  const F = config.ffnSize;
  const D = config.hiddenSize;
  checkFfnTarget(F, config.nLayers, importance, keep, what);
  const out: DecoderWeights = new Map(weights);
  const kept: number[][] = [];
  for (let i = 0; i < config.nLayers; i++) {
    const idx = topIndices(importance[i]!, keep);
    kept.push(idx);
    const p = layerPrefix(i);
    out.set(`${p}.mlp.gate_proj.weight`, selectColumns(weights.get(`${p}.mlp.gate_proj.weight`)!, D, F, idx));
    out.set(`${p}.mlp.up_proj.weight`, selectColumns(weights.get(`${p}.mlp.up_proj.weight`)!, D, F, idx));
    out.set(`${p}.mlp.down_proj.weight`, selectRows(weights.get(`${p}.mlp.down_proj.weight`)!, D, idx));
  }
  return { config: { ...config, ffnSize: keep }, weights: out, kept };
}

/**
 * The same for GPT-2's GELU MLP (Conv1D layout, [in, out]): channel i is column i of c_fc's
 * weight and entry i of its bias, and row i of the MLP's c_proj; c_proj's bias stays.
 */
export function pruneGpt2FfnChannels(config: Gpt2Config, weights: Gpt2Weights, importance: ArrayLike<number>[], keep: number, what = 'prune.ffn-channels'): { config: Gpt2Config; weights: Gpt2Weights; kept: number[][] } {
  const F = config.ffnSize;
  const D = config.hiddenSize;
  checkFfnTarget(F, config.nLayers, importance, keep, what);
  const out: Gpt2Weights = new Map(weights);
  const kept: number[][] = [];
  for (let i = 0; i < config.nLayers; i++) {
    const idx = topIndices(importance[i]!, keep);
    kept.push(idx);
    const p = `${gpt2BlockPrefix(i)}.mlp`;
    out.set(`${p}.c_fc.weight`, selectColumns(weights.get(`${p}.c_fc.weight`)!, D, F, idx));
    out.set(`${p}.c_fc.bias`, selectColumns(weights.get(`${p}.c_fc.bias`)!, 1, F, idx));
    out.set(`${p}.c_proj.weight`, selectRows(weights.get(`${p}.c_proj.weight`)!, D, idx));
  }
  return { config: { ...config, ffnSize: keep }, weights: out, kept };
}

/** The intermediate size kept: `keep` or F minus ratio * F, rounded to the nearest multiple of `multipleOf`. */
export function keptChannels(F: number, p: { ratio?: number; keep?: number; multipleOf: number }, what = 'prune.ffn-channels'): number {
  const exact = p.keep ?? F - Math.round(p.ratio! * F);
  const keep = Math.round(exact / p.multipleOf) * p.multipleOf;
  const asked = p.keep !== undefined ? `keeping ${p.keep}` : `removing ${Math.round(p.ratio! * 1000) / 10}%`;
  const rounded = p.multipleOf > 1 ? ` (${keep} after rounding to a multiple of ${p.multipleOf})` : '';
  if (keep < 1) throw new Error(`${what}: ${asked} of ${F} channels${rounded} would remove every channel of the MLP`);
  if (keep >= F) throw new Error(`${what}: ${asked} of ${F} channels${rounded} removes nothing`);
  return keep;
}

export const ffnChannelsParams = z
  .object({
    /** Share of each MLP's intermediate channels removed, in (0, 1). */
    ratio: z.number().gt(0).lt(1).optional(),
    /** Or the intermediate size to keep. */
    keep: z.number().int().min(1).max(1 << 20).optional(),
    /** Round the kept size to the nearest multiple of this (e.g. 64, so the MatMul shapes stay friendly to the CPU kernels). */
    multipleOf: z.number().int().min(1).max(1 << 16).default(1),
    /** Distill the pruned model from the unpruned one right after pruning. */
    distill: structuredDistillParams.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.ratio === undefined) === (p.keep === undefined)) ctx.addIssue({ code: 'custom', path: ['ratio'], message: 'give exactly one of ratio and keep' });
  });
export type FfnChannelsParams = z.output<typeof ffnChannelsParams>;

/**
 * Minitron's neuron importance: mean |activation| of the MLP's output projection input
 * (down_proj, or GPT-2's mlp c_proj) over calibration tokens, per block.
 */
async function ffnImportance(model: Model, nLayers: number, what: string, ctx: TechniqueContext): Promise<Float64Array[]> {
  const { layers, stats } = await layersWithActivations(model, what, { roles: ['down'], lmHead: false }, ctx, false);
  const importance: Float64Array[] = new Array(nLayers);
  for (const l of layers) {
    const s = stats.get(l.name)!;
    if (l.block !== null && l.block < nLayers) importance[l.block] = s.sumAbs.map((v) => v / s.count);
  }
  const missing = Array.from({ length: nLayers }, (_, i) => i).find((i) => importance[i] === undefined);
  if (missing !== undefined) throw new Error(`${what}: no MLP output projection (down_proj / c_proj) activations captured for block ${missing}`);
  return importance;
}

export async function pruneFfn(model: Model, params: FfnChannelsParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.ffn-channels';
  const gpt2 = gpt2Parts(model, what);
  if (gpt2) {
    refuseGpt2Distill(what, params.distill);
    const F = gpt2.config.ffnSize;
    const keep = keptChannels(F, params, what);
    const importance = await ffnImportance(model, gpt2.config.nLayers, what, ctx);
    const r = pruneGpt2FfnChannels(gpt2.config, gpt2.weights, importance, keep, what);
    const out = finishGpt2Structured(model, gpt2, r, { ffnSizeBefore: F, ffnSizeAfter: keep });
    ctx.onProgress(1, 'done');
    return out;
  }
  const parts = decoderParts(model, what);
  const F = parts.config.ffnSize;
  const keep = keptChannels(F, params, what);
  const importance = await ffnImportance(model, parts.config.nLayers, what, ctx);
  const r = pruneFfnChannels(parts.config, parts.weights, importance, keep, what);
  const out = await finishStructured(model, parts, r, params.distill, ctx, { ffnSizeBefore: F, ffnSizeAfter: keep });
  ctx.onProgress(1, 'done');
  return out;
}

export const ffnChannelsTechnique = defineTechnique({
  id: 'prune.ffn-channels',
  family: 'prune',
  title: 'FFN channel pruning (structured, Minitron importance)',
  description:
    'Removes the intermediate MLP channels with the smallest mean activation on calibration data (gate/up columns and down rows; ' +
    "GPT-2's c_fc columns and bias entries and c_proj rows), the same count in every block: a smaller dense model with a new " +
    'intermediate_size (n_inner for GPT-2) in its config.',
  params: ffnChannelsParams,
  apply: pruneFfn,
});
