/**
 * What the unstructured and N:M pruning techniques share: their parameter fields (a target
 * sparsity or an N:M pattern, plus the kit's layer selection), and one pass over the selected
 * linear layers through the kit's rewrite driver that writes each pruned weight back dense in
 * its own dtype and reports the sparsity reached with honest sizes (dense bytes, and bytes in
 * a packed sparse layout; see sparse-storage.ts). Each method supplies only its mask rule.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, selectLinearLayers, type LinearSelectionInput, type SelectedLayer } from '../kit/select-linear';
import type { LayerActivationStats } from '../kit/capture-activations';
import { layersWithActivations } from '../calibrated-layers';
import type { LinearTarget } from '../kit/linear-result';
import type { TechniqueContext, TechniqueResult } from '../technique';
import { prunedCount, sparsityTarget, targetLabel, type SparsityTarget } from './sparsity-mask';
import { sparseStoredBytes } from './sparse-storage';

export const pruneTargetParams = {
  ...linearSelectionParams,
  /** Fraction of weights removed in (0, 1); give this or `pattern`. */
  sparsity: z.number().gt(0).lt(1).optional(),
  /** Semi-structured N:M pattern along the input dimension, e.g. "2:4" or "4:8". */
  pattern: z.string().regex(/^\d{1,2}:\d{1,2}$/, 'pattern must look like "2:4"').optional(),
  /** The vocabulary projection is kept dense unless asked (pruning papers leave it out). */
  lmHead: z.boolean().default(false),
};

/** Data-aware methods: prune block by block on activations of the already-pruned model (default) or all at once on the dense model's. */
export const sequentialParam = { sequential: z.boolean().default(true) };

/** Exactly one of sparsity and pattern. */
export function refineTarget<T extends { sparsity?: number; pattern?: string }>(p: T, ctx: z.RefinementCtx): void {
  if ((p.sparsity === undefined) === (p.pattern === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['sparsity'], message: 'give exactly one of sparsity (e.g. 0.5) and pattern (e.g. "2:4")' });
  }
}

export interface PrunedLayer {
  values: Float32Array;
  mask: Uint8Array;
}

/** The mask rule of one method: prune one layer (values are a fresh copy the rule may keep). */
export type PruneRule = (t: LinearTarget, target: SparsityTarget) => PrunedLayer | Promise<PrunedLayer>;

export async function pruneLinearLayers(
  model: Model,
  technique: string,
  params: z.output<z.ZodObject<typeof pruneTargetParams>>,
  ctx: TechniqueContext,
  rule: PruneRule,
  /** Layers chosen (and their activations captured) beforehand; default: the params' selection. */
  layers?: SelectedLayer[],
): Promise<TechniqueResult> {
  const target = sparsityTarget(params, technique);
  let weights = 0;
  let pruned = 0;
  let bytesDense = 0;
  let bytesStored = 0;
  const selection = selectionOf(params);
  const out = await rewriteLinear(model, {
    technique,
    selection,
    layers,
    ctx,
    method: async (t) => {
      const r = await rule(t, target);
      const valueBytes = t.storedDtype === 'float32' ? 4 : 2;
      weights += r.mask.length;
      pruned += prunedCount(r.mask);
      bytesDense += r.mask.length * valueBytes;
      bytesStored += sparseStoredBytes(r.mask, valueBytes, target);
      return { kind: 'dense', values: r.values };
    },
  });
  ctx.log.info(`${technique} pruned`, { target: targetLabel(target), layers: out.layers.length, sparsity: pruned / weights });
  return {
    model: out.model,
    report: {
      ...out.report,
      target: targetLabel(target),
      prunedWeights: pruned,
      prunableWeights: weights,
      sparsity: Number((pruned / weights).toFixed(6)),
      bytesDense,
      bytesStored,
    },
  };
}

/** The kit's selection fields out of a method's parameters. */
export function selectionOf(p: z.output<z.ZodObject<typeof pruneTargetParams>>): LinearSelectionInput {
  const { blocks, roles, match, skip, minSize, lmHead } = p;
  return { blocks, roles, match, skip, minSize, lmHead };
}

/** Zero the pruned entries of W. */
export function applyMask(values: Float32Array, mask: Uint8Array): Float32Array {
  for (let i = 0; i < values.length; i++) if (!mask[i]) values[i] = 0;
  return values;
}

/**
 * A data-aware method over the selected layers. Sequentially (the default of SparseGPT's and
 * Wanda's reference code, SparseGPT sec. 3 "Sequential"), the transformer blocks are pruned
 * one after another and each block's calibration inputs are captured from the model with
 * the earlier blocks already pruned, so a layer compensates for the errors before it;
 * otherwise every layer sees the dense model's activations.
 */
export async function pruneWithActivations(
  model: Model,
  technique: string,
  params: z.output<z.ZodObject<typeof pruneTargetParams>> & { sequential: boolean },
  ctx: TechniqueContext,
  gram: boolean,
  ruleFor: (stats: Map<string, LayerActivationStats>) => PruneRule,
): Promise<TechniqueResult> {
  const selection = selectionOf(params);
  if (!params.sequential) {
    const { layers, stats } = await layersWithActivations(model, technique, selection, ctx, gram);
    return pruneLinearLayers(model, technique, params, ctx, ruleFor(stats), layers);
  }
  const blocks = [...new Set(selectLinearLayers(model, selection).selected.map((l) => l.block))];
  let current = model;
  const sums = new Map<string, number>();
  let last: TechniqueResult | undefined;
  const quiet = { ...ctx, onProgress: () => {} };
  for (const [i, block] of blocks.entries()) {
    const { layers, stats } = await layersWithActivations(current, technique, selection, ctx, gram, (l) => l.block === block);
    last = await pruneLinearLayers(current, technique, params, quiet, ruleFor(stats), layers);
    current = last.model;
    for (const [k, v] of Object.entries(last.report)) if (typeof v === 'number') sums.set(k, (sums.get(k) ?? 0) + v);
    ctx.onProgress((i + 1) / blocks.length, `block ${block ?? '-'}`);
  }
  const total = (k: string) => sums.get(k) ?? 0;
  return {
    model: current,
    report: {
      ...last!.report,
      ...Object.fromEntries(['layersRewritten', 'weightBytesBefore', 'weightBytesAfter', 'prunedWeights', 'prunableWeights', 'bytesDense', 'bytesStored'].map((k) => [k, total(k)])),
      sparsity: Number((total('prunedWeights') / total('prunableWeights')).toFixed(6)),
      bitsPerWeight: Number(((total('weightBytesAfter') * 8) / total('prunableWeights')).toFixed(4)),
      layersKept: 0,
      sequential: 'yes',
    },
  };
}
