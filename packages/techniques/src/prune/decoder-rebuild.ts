/**
 * Structured pruning edits a decoder built here as weights plus config, then builds the
 * smaller graph anew, so the output is an ordinary dense model whose metadata carries the
 * new config (the model folder's config.json is written from it, see packages/reference).
 * Optionally the pruned model is then distilled from the unpruned one (Minitron,
 * Muralidharan et al. 2024, sec. 2.3: prune, then retrain with the original as teacher)
 * by distill.kd, starting from the pruned weights.
 */
import { z } from 'zod';
import { buildDecoder, decoderWeightsFromModel, parameterCount, readGpt2Config, toHfConfig, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { distillKd, kdParams } from '../distill/kd';
import type { TechniqueContext, TechniqueResult } from '../technique';

export interface DecoderParts {
  config: DecoderConfig;
  weights: DecoderWeights;
  weightDtype: 'float32' | 'float16';
}

/**
 * The float decoder inside a model; quantized or factorized models are refused saying what
 * was found, and so is a GPT-2 model, with `gpt2Refusal` saying what the technique lacks for
 * it (methods that handle GPT-2 read it with gpt2Parts first).
 */
export function decoderParts(model: Model, technique: string, gpt2Refusal = 'this technique rebuilds Llama-style decoders only'): DecoderParts {
  if (readGpt2Config(model) !== undefined) {
    throw new Error(
      `${technique}: this is a GPT-2 model (LayerNorm, learned positions, fused c_attn), and ${gpt2Refusal}; ` +
        'prune.ffn-channels, prune.blocks, prune.magnitude and quantize.rtn-int8 apply to it',
    );
  }
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

/** Distillation after pruning: distill.kd's training fields, the teacher being the unpruned input. */
export const structuredDistillParams = z
  .object({
    steps: z.number().int().min(1).max(100_000),
    batchSize: z.number().int().min(1).max(1024).default(8),
    seqLen: z.number().int().min(2).max(8192).default(128),
    lr: z.number().positive().max(1).default(1e-3),
    warmup: z.number().int().nonnegative().default(20),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    alpha: z.number().min(0).max(1).default(0.8),
    temperature: z.number().positive().max(100).default(1),
  })
  .strict();
export type StructuredDistill = z.output<typeof structuredDistillParams>;

/** Build the pruned model, distilling it from the unpruned input first when asked. */
export async function finishStructured(
  original: Model,
  parts: DecoderParts,
  pruned: { config: DecoderConfig; weights: DecoderWeights },
  distill: StructuredDistill | undefined,
  ctx: TechniqueContext,
  report: Record<string, number | string>,
): Promise<TechniqueResult> {
  const shape = { ...report, ...shapeReport(parts.config, pruned.config) };
  if (!distill) return { model: rebuildDecoder(original, { ...parts, ...pruned }), report: shape };
  const { alpha, temperature, ...schedule } = distill;
  const kd = await distillKd(original, kdParams.parse({ ...schedule, loss: { alpha, temperature } }), ctx, pruned);
  return { model: { ...kd.model, metadata: { ...original.metadata, ...kd.model.metadata } }, report: { ...shape, distillSteps: distill.steps, distillFinalLoss: kd.report.finalLoss ?? NaN } };
}
