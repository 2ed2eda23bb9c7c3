/**
 * Structured pruning edits a decoder built here as weights plus config, then builds the
 * smaller graph anew, so the output is an ordinary dense model whose metadata carries the
 * new config (the model folder's config.json is written from it, see packages/reference).
 */
import { buildDecoder, decoderWeightsFromModel, parameterCount, toHfConfig, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';

export interface DecoderParts {
  config: DecoderConfig;
  weights: DecoderWeights;
  weightDtype: 'float32' | 'float16';
}

/** The float decoder inside a model; quantized or factorized models are refused with the step to reorder. */
export function decoderParts(model: Model, technique: string): DecoderParts {
  let read;
  try {
    read = decoderWeightsFromModel(model);
  } catch (e) {
    throw new Error(`${technique} works on decoders built by Distillery with plain float weights: ${(e as Error).message}`);
  }
  if (read.quantized.size) {
    throw new Error(`${technique}: the model has quantized weights (${[...read.quantized.keys()][0]}, ...); prune before quantizing`);
  }
  return { config: read.config, weights: read.weights, weightDtype: read.weightDtype };
}

export function rebuildDecoder(original: Model, parts: DecoderParts): Model {
  const built = buildDecoder(parts.config, parts.weights, { weightDtype: parts.weightDtype });
  return { ...built, metadata: { ...original.metadata, ...built.metadata } };
}

/** Report fields every structured method adds: parameters before/after and the new config.json fields. */
export function shapeReport(before: DecoderConfig, after: DecoderConfig): Record<string, number | string> {
  const hf = toHfConfig(after);
  return {
    paramsBefore: parameterCount(before),
    paramsAfter: parameterCount(after),
    config: JSON.stringify({
      num_hidden_layers: hf.num_hidden_layers,
      intermediate_size: hf.intermediate_size,
      num_attention_heads: hf.num_attention_heads,
      num_key_value_heads: hf.num_key_value_heads,
      head_dim: hf.head_dim,
      hidden_size: hf.hidden_size,
    }),
  };
}
