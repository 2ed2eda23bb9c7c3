/**
 * The layers a data-aware method rewrites, with their calibration activations captured by
 * the kit (kit/capture-activations.ts) before any layer changes: Wanda and SparseGPT read
 * them for pruning, ASVD and SVD-LLM for factorization. Missing calibration is refused up
 * front, naming the technique.
 */
import type { Model } from '@distillery/onnx';
import { captureActivations, type LayerActivationStats } from './kit/capture-activations';
import { noLayerMatched, selectLinearLayers, type LinearSelectionInput, type SelectedLayer } from './kit/select-linear';
import type { TechniqueContext } from './technique';

export async function layersWithActivations(
  model: Model,
  technique: string,
  selection: LinearSelectionInput,
  ctx: TechniqueContext,
  gram: boolean,
  /** Capture only these of the selected layers (e.g. one block at a time). */
  only: (l: SelectedLayer) => boolean = () => true,
): Promise<{ layers: SelectedLayer[]; stats: Map<string, LayerActivationStats> }> {
  if (!ctx.calibration?.sequences.length) throw new Error(`${technique} needs calibration data: give the recipe a calibration set`);
  const sel = selectLinearLayers(model, selection);
  if (!sel.selected.length) throw noLayerMatched(technique, model, sel);
  const layers = sel.selected.filter(only);
  const stats = await captureActivations(model, layers, ctx.calibration, { gram, signal: ctx.signal });
  return { layers, stats };
}
