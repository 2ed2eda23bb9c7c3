/**
 * finetune.lora: low-rank adapters trained on a frozen, possibly quantized, base (LoRA, Hu et
 * al. 2021, sec. 4.1; QLoRA, Dettmers et al. 2023, sec. 3). Every selected block projection
 * reads W + (alpha / rank) A B in the training graph, W frozen at exactly what the input
 * model computes with (dequantized DequantizeLinear or MatMulNBits weights, or float), A
 * initialised Gaussian with std 1/sqrt(in) and B at zero so training starts from the base.
 * Only A and B are trained, with the shared training engine (decoder-training.ts). The
 * adapters are written as separate low-rank MatMuls beside quantized layers, or merged into
 * float layers (lora-adapters.ts).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { createPrng, decoderWeightShapes, isBlockLinearWeight, loraParamNames } from '@distillery/nn';
import { bounded } from '../budget';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { checkTokens, trainDecoder } from './decoder-training';
import { checkTrainingRun, estimateFinetune, trainingRunParams } from './schedule-params';
import { loraBase } from './lora-base';
import { attachAdapters, type TrainedAdapter } from './lora-adapters';

const ID = 'finetune.lora';
const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

export const loraParams = z
  .object({
    ...trainingRunParams,
    lr: bounded.lr(1e-3),
    rank: z.number().int('rank must be an integer').min(1, 'rank must be at least 1').max(256, 'rank must be at most 256').default(8),
    /** The adapter's output is scaled by alpha / rank. */
    alpha: z.number().positive('alpha must be positive').default(16),
    /** Block projections that get adapters. */
    targets: z.array(z.enum(PROJECTIONS)).min(1, 'targets must name at least one projection').default([...PROJECTIONS]),
    /** Fold adapters into float layers (quantized layers always keep them separate). */
    merge: z.boolean().default(true),
    /** Storage of separate adapters (float16 halves their bytes; they still compute in float32). */
    adapterDtype: z.enum(['float32', 'float16']).default('float16'),
  })
  .strict();
export type LoraParams = z.output<typeof loraParams>;

const mean = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

export function loraTarget(targets: readonly string[]): (name: string) => boolean {
  return (name) => isBlockLinearWeight(name) && targets.some((t) => name.endsWith(`.${t}.weight`));
}

export async function finetuneLora(model: Model, params: LoraParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const tokens = ctx.trainingTokens;
  if (!tokens) throw new Error(`${ID} needs training tokens (ctx.trainingTokens) tokenized with the model's tokenizer`);
  const base = loraBase(model, ID);
  const { config, weights } = base;
  checkTokens(tokens, config.vocabSize, ID);
  const include = loraTarget(params.targets);
  const targets = [...weights.keys()].filter(include);
  if (!targets.length) throw new Error(`${ID}: no block projection matches targets ${params.targets.join(', ')}`);
  const shapes = decoderWeightShapes(config);
  const shapeOf = (name: string) => shapes.get(name) as [number, number];
  const prng = createPrng(params.seed);
  const graphParams = new Map(weights);
  for (const name of targets) {
    const [rows, cols] = shapeOf(name);
    const { a, b } = loraParamNames(name);
    const std = 1 / Math.sqrt(rows);
    graphParams.set(a, Float32Array.from({ length: rows * params.rank }, () => std * prng.normal()));
    graphParams.set(b, new Float32Array(params.rank * cols));
  }
  const run = await trainDecoder({
    ...params,
    config,
    params: graphParams,
    tokens,
    graph: { loss: 'ce', frozen: [...weights.keys()], lora: { rank: params.rank, alpha: params.alpha, include } },
    // Held-out perplexity during training would score the base without its adapters.
    evalPoints: 0,
    ctx,
  });
  const scale = params.alpha / params.rank;
  const adapters: TrainedAdapter[] = targets.map((name) => {
    const { a, b } = loraParamNames(name);
    const [rows, cols] = shapeOf(name);
    return { weight: name, inFeatures: rows, outFeatures: cols, rank: params.rank, a: run.params.get(a)!, b: Float32Array.from(run.params.get(b)!, (v) => v * scale) };
  });
  const out = attachAdapters(model, adapters, { merge: params.merge, quantized: base.quantized, baseWeights: weights, dtype: params.adapterDtype });
  ctx.onProgress(1, 'done');
  return {
    model: out.model,
    report: {
      steps: run.steps,
      // Means of the first and last (up to) 10 steps: single batches differ more than the adapters do early on.
      initialLoss: mean(run.lossCurve.slice(0, 10).map((p) => p.loss)),
      finalLoss: run.finalLoss,
      rank: params.rank,
      alpha: params.alpha,
      adaptedLayers: adapters.length,
      separateAdapters: out.separate.length,
      mergedAdapters: out.merged.length,
      quantizedBaseLayers: targets.filter((t) => base.quantized.has(t)).length,
      adapterParameters: adapters.reduce((s, ad) => s + ad.rank * (ad.inFeatures + ad.outFeatures), 0),
      adapterBytes: out.adapterBytes,
    },
  };
}

export const lora = defineTechnique({
  id: ID,
  family: 'finetune',
  title: 'LoRA / QLoRA recovery (low-rank adapters on a frozen base)',
  description:
    'Trains rank-r adapters (W + alpha/r A B) on the block projections of a frozen base, quantized (DequantizeLinear, ' +
    'MatMulNBits) or float, with next-token cross-entropy. Quantized layers keep their integers and gain two small ' +
    'MatMuls added to their output; float layers get the adapters merged in (merge: false keeps them separate).',
  params: loraParams,
  apply: finetuneLora,
  check: checkTrainingRun,
  estimate: (p, shape) => estimateFinetune(p, shape),
});
