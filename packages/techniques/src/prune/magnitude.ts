/**
 * Magnitude pruning (Han et al. 2015, "Learning both Weights and Connections for Efficient
 * Neural Networks", sec. 3): a weight's importance is |w|; the smallest go, per layer, per
 * output (the comparison group Wanda uses, Sun et al. 2023 §5 "comparison group", which
 * separates what Wanda's activation norms add from what its grouping adds) or with one
 * threshold over all layers (global).
 */
import { z } from 'zod';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { applyMask, pruneLinearLayers, pruneTargetParams, refineTarget, selectionOf } from './prune-layers';
import { globalMasks, maskFor, type SparsityTarget } from './sparsity-mask';

export function magnitudeScores(w: Float32Array): Float32Array {
  return Float32Array.from(w, Math.abs);
}

/** Magnitude mask for W[rows = in, cols = out], weights compared within the layer or within each output. */
export function magnitudeMask(w: Float32Array, rows: number, cols: number, target: SparsityTarget, what = 'prune.magnitude', scope: 'layer' | 'output' = 'layer'): Uint8Array {
  return maskFor(magnitudeScores(w), rows, cols, target, scope, what);
}

/** One threshold over every layer's |w| (unstructured only: N:M is a per-group rule already). */
export function globalMagnitudeMasks(weights: Float32Array[], sparsity: number, what = 'prune.magnitude'): Uint8Array[] {
  return globalMasks(weights.map(magnitudeScores), sparsity, what);
}

export const magnitudeParams = z
  .object({
    ...pruneTargetParams,
    /** layer: each layer loses the same share; output: each output (column) of each layer does; global: one |w| threshold over all selected layers. */
    scope: z.enum(['layer', 'output', 'global']).default('layer'),
  })
  .strict()
  .superRefine(refineTarget)
  .superRefine((p, ctx) => {
    if (p.scope === 'global' && p.pattern !== undefined) ctx.addIssue({ code: 'custom', path: ['scope'], message: 'N:M patterns are per group; scope global applies to unstructured sparsity only' });
  });
export type MagnitudeParams = z.output<typeof magnitudeParams>;

export async function pruneMagnitude(model: Model, params: MagnitudeParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.magnitude';
  let global: Map<string, Uint8Array> | undefined;
  if (params.scope === 'global') {
    const sel = selectLinearLayers(model, selectionOf(params));
    if (!sel.selected.length) throw noLayerMatched(what, model, sel);
    const values = sel.selected.map((l) => tensorToFloat32(l.layer.weight));
    const masks = globalMagnitudeMasks(values, params.sparsity!, what);
    global = new Map(sel.selected.map((l, i) => [l.layer.weight.name, masks[i]!]));
  }
  return pruneLinearLayers(model, what, params, ctx, (t, target) => {
    const scope = params.scope === 'output' ? 'output' : 'layer';
    const mask = global?.get(t.weightName) ?? magnitudeMask(t.values, t.inFeatures, t.outFeatures, target, `${what}: layer ${t.name}`, scope);
    return { values: applyMask(t.values, mask), mask };
  });
}

export const pruneMagnitudeTechnique = defineTechnique({
  id: 'prune.magnitude',
  family: 'prune',
  title: 'Magnitude pruning (unstructured or N:M)',
  description:
    'Zeroes the smallest-magnitude weights of the linear layers: a sparsity per layer, per output or with one global threshold, or an N:M pattern ' +
    '(2:4, 4:8). The file keeps dense zeros (ONNX Runtime has no sparse kernel); the report gives dense and packed sizes.',
  params: magnitudeParams,
  apply: pruneMagnitude,
});
