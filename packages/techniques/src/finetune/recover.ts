/**
 * finetune.recover: next-token cross-entropy fine-tuning of a decoder after compression,
 * to win back accuracy (as in the recovery fine-tuning of pruned LLMs, e.g. Ma et al.
 * 2023, "LLM-Pruner", sec. 3.3). A linear weight that is exactly zero stays zero: masks
 * are taken from the zero pattern and applied to weights, gradients and optimizer moments
 * at every step, so unstructured and N:M sparsity survive training.
 *
 * int8 models (DequantizeLinear weights from quantize.rtn-int8) are refused: training the
 * dequantized float weights and rounding again would undo part of what training learned;
 * finetune.qat trains through the rounding instead.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { buildDecoder, decoderWeightsFromModel, isBlockLinearWeight, type MaskMap } from '@distillery/nn';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { checkTokens, trainDecoder } from './decoder-training';
import { trainingRunParams } from './schedule-params';

export const recoverParams = z.object({ ...trainingRunParams }).strict();
export type RecoverParams = z.output<typeof recoverParams>;

/** Linear weights whose zeros must stay zero: the block projections and an untied LM head. */
export const isMaskableWeight = (name: string): boolean => isBlockLinearWeight(name) || name === 'lm_head.weight';

/** 1 = trainable, 0 = pruned; only weights that have at least one exact zero get a mask. */
export function zeroPatternMasks(weights: Map<string, Float32Array>): MaskMap {
  const masks: MaskMap = new Map();
  for (const [name, w] of weights) {
    if (!isMaskableWeight(name) || !w.includes(0)) continue;
    masks.set(name, Uint8Array.from(w, (v) => (v === 0 ? 0 : 1)));
  }
  return masks;
}

/** Refuse models a float fine-tune would silently damage. */
export function refuseQuantized(model: Model, technique: string): void {
  const dq = model.graph.nodes.find((n) => n.opType === 'DequantizeLinear' || n.opType === 'MatMulNBits');
  if (dq) {
    throw new Error(
      `${technique} trains float weights, but this model has quantized weights (${dq.opType} node "${dq.name}"). ` +
        'Run finetune.qat on the float model instead: it trains through the rounding and emits the quantized model.',
    );
  }
}

export async function finetuneRecover(model: Model, params: RecoverParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  refuseQuantized(model, 'finetune.recover');
  const tokens = ctx.trainingTokens;
  if (!tokens) throw new Error('finetune.recover needs training tokens (ctx.trainingTokens) tokenized with the model\'s tokenizer');
  const { config, weights, weightDtype } = decoderWeightsFromModel(model);
  checkTokens(tokens, config.vocabSize, 'finetune.recover');
  const masks = zeroPatternMasks(weights);
  let zeros = 0;
  for (const m of masks.values()) for (let i = 0; i < m.length; i++) zeros += 1 - m[i]!;
  const run = await trainDecoder({ ...params, config, params: weights, tokens, graph: { loss: 'ce' }, masks, ctx });
  ctx.onProgress(1, 'done');
  const built = buildDecoder(config, run.params, { weightDtype });
  return {
    model: { ...built, metadata: { ...model.metadata, ...built.metadata } },
    report: {
      steps: run.steps,
      initialLoss: run.lossCurve[0]?.loss ?? NaN,
      finalLoss: run.finalLoss,
      maskedWeights: masks.size,
      zeroWeightsKept: zeros,
    },
  };
}

export const recover = defineTechnique({
  id: 'finetune.recover',
  family: 'finetune',
  title: 'Recovery fine-tuning (sparsity-preserving)',
  description:
    'Fine-tunes a compressed float decoder with next-token cross-entropy; weights that are exactly zero stay zero. ' +
    'Refuses int8/int4 models (use finetune.qat on the float model).',
  params: recoverParams,
  apply: finetuneRecover,
});
