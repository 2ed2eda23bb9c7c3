/**
 * Structured pruning of a GPT-2 model (buildGpt2's graph, as a safetensors GPT-2 folder
 * imports): its weights are read back into the builder's structure, edited, and the smaller
 * model is built anew by buildGpt2, whose metadata carries the new config (the model
 * folder's config.json, n_inner and n_layer included, is written from it). The GPT-2
 * counterpart of decoder-rebuild.ts.
 */
import { buildGpt2, gpt2ParameterCount, gpt2WeightsFromModel, readGpt2Config, toGpt2HfConfig, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import type { TechniqueResult } from '../technique';

export interface Gpt2Parts {
  config: Gpt2Config;
  weights: Gpt2Weights;
  weightDtype: 'float32' | 'float16';
}

/** The GPT-2 inside a model, or undefined for other models; quantized or factorized GPT-2 graphs are refused saying what was found. */
export function gpt2Parts(model: Model, technique: string): Gpt2Parts | undefined {
  if (readGpt2Config(model) === undefined) return undefined;
  try {
    return gpt2WeightsFromModel(model);
  } catch (e) {
    throw new Error(`${technique} works on GPT-2 models with plain float weights (prune before quantizing): ${(e as Error).message}`);
  }
}

/** distill.kd trains Llama-style students only, so pruning a GPT-2 cannot end in distillation. */
export function refuseGpt2Distill(technique: string, distill: unknown): void {
  if (distill !== undefined) {
    throw new Error(`${technique}: distill after pruning is not available for a GPT-2 model (distill.kd trains Llama-style decoders only); prune without distill`);
  }
}

export function rebuildGpt2(original: Model, parts: Gpt2Parts): Model {
  const built = buildGpt2(parts.config, parts.weights, { weightDtype: parts.weightDtype });
  return { ...built, metadata: { ...original.metadata, ...built.metadata } };
}

/** Parameters before/after and the config.json fields a structured method changes. */
export function gpt2ShapeReport(before: Gpt2Config, after: Gpt2Config): Record<string, number | string> {
  const hf = toGpt2HfConfig(after);
  return {
    paramsBefore: gpt2ParameterCount(before),
    paramsAfter: gpt2ParameterCount(after),
    config: JSON.stringify({ n_layer: hf.n_layer, n_inner: hf.n_inner, n_head: hf.n_head, n_embd: hf.n_embd }),
  };
}

export function finishGpt2Structured(original: Model, parts: Gpt2Parts, pruned: { config: Gpt2Config; weights: Gpt2Weights }, report: Record<string, number | string>): TechniqueResult {
  return { model: rebuildGpt2(original, { ...parts, ...pruned }), report: { ...report, ...gpt2ShapeReport(parts.config, pruned.config) } };
}
