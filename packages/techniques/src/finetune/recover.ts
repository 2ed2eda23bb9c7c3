/**
 * finetune.recover: next-token cross-entropy fine-tuning of a decoder after compression,
 * to win back accuracy (as in the recovery fine-tuning of pruned LLMs, e.g. Ma et al.
 * 2023, "LLM-Pruner", sec. 3.3). A linear weight that is exactly zero stays zero: masks
 * are taken from the zero pattern and applied to weights, gradients and optimizer moments
 * at every step, so unstructured and N:M sparsity survive training.
 *
 * Weight-only quantized models (int8 DequantizeLinear from quantize.rtn-int8, int4 from
 * finetune.qat) are trained on their own grid: the weights are dequantized, the forward
 * pass reads them fake-quantized at the same width and grouping with the scale recomputed
 * from the current weights every step, as in Jacob et al. 2018 ("Quantization and Training
 * of Neural Networks for Efficient Integer-Arithmetic-Only Inference", sec. 3), with
 * straight-through gradients (Bengio et al. 2013); the clip ratio is chosen so that step 0
 * reproduces the input's scales exactly (quantization-grid.ts). Rounding the float weights
 * only after training would undo part of what training learned. The result is rounded once
 * more with that quantizer and written back into the input graph, so it keeps the input's
 * format and size. A quantized model cannot tell a pruned weight from one that rounded to
 * 0, so every integer 0 is frozen: sparsity from an earlier pruning step survives, at the
 * cost of freezing the weights rounding zeroed (freezeZeros: false lets them move).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { buildDecoder, decoderWeightShapes, decoderWeightsFromModel, isBlockLinearWeight, type MaskMap } from '@distillery/nn';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { checkTokens, trainDecoder } from './decoder-training';
import { checkTrainingRun, estimateFinetune, trainingRunParams } from './schedule-params';
import { recoveryGrid } from './quantization-grid';
import { requantizeInPlace } from './requantize-in-place';

export const recoverParams = z
  .object({
    ...trainingRunParams,
    /**
     * Keep exactly-zero weights at zero (default). In a quantized model that also freezes
     * weights rounding sent to 0; false lets those move when the model was never pruned.
     */
    freezeZeros: z.boolean().default(true),
  })
  .strict();
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

/** Refuse already-quantized input to a technique that quantizes float weights itself (finetune.qat). */
export function refuseQuantized(model: Model, technique: string): void {
  const dq = model.graph.nodes.find((n) => n.opType === 'DequantizeLinear' || n.opType === 'MatMulNBits');
  if (dq) {
    throw new Error(
      `${technique} quantizes float weights, but this model has quantized weights already (${dq.opType} node "${dq.name}"). ` +
        'Run it on the float model, or use finetune.recover, which fine-tunes a quantized model on its own grid.',
    );
  }
}

/** Weight formats recovery cannot read back; named in the error so the user knows which step to change. */
export function refuseUnreadableQuantization(model: Model, technique: string): void {
  const nbits = model.graph.nodes.find((n) => n.opType === 'MatMulNBits');
  if (nbits) {
    throw new Error(
      `${technique} cannot read MatMulNBits weights (node "${nbits.name}"): their packed blocks are not decoded. ` +
        'Fine-tune before that quantizer, or quantize with quantize.rtn-int8 or finetune.qat (DequantizeLinear), which it can train.',
    );
  }
}

export async function finetuneRecover(model: Model, params: RecoverParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'finetune.recover';
  refuseUnreadableQuantization(model, what);
  const tokens = ctx.trainingTokens;
  if (!tokens) throw new Error('finetune.recover needs training tokens (ctx.trainingTokens) tokenized with the model\'s tokenizer');
  const { config, weights, weightDtype, quantized } = decoderWeightsFromModel(model);
  checkTokens(tokens, config.vocabSize, what);
  const shapes = decoderWeightShapes(config);
  const grid = quantized.size ? recoveryGrid(quantized, (name) => shapes.get(name)![0]!, what) : undefined;
  if (grid?.groupsOffGrid) ctx.log.warn(`${what}: ${grid.groupsOffGrid} scale groups do not share the common grid; their scales move at the first step`, { ...grid });
  const masks = params.freezeZeros ? zeroPatternMasks(weights) : new Map<string, Uint8Array>();
  let zeros = 0;
  for (const m of masks.values()) for (let i = 0; i < m.length; i++) zeros += 1 - m[i]!;
  const fakeQuant = grid && { bits: grid.bits, groupSize: grid.groupSize, clipRatio: grid.clipRatio, include: (name: string) => quantized.has(name) };
  const run = await trainDecoder({ ...params, config, params: weights, tokens, graph: { loss: 'ce', fakeQuant }, masks, ctx });
  const common = {
    steps: run.steps,
    initialLoss: run.lossCurve[0]?.loss ?? NaN,
    finalLoss: run.finalLoss,
    maskedWeights: masks.size,
    zeroWeightsKept: zeros,
    quantizedLayers: quantized.size,
  };
  ctx.onProgress(1, 'done');
  if (!grid) {
    const built = buildDecoder(config, run.params, { weightDtype });
    return {
      model: { ...built, metadata: { ...model.metadata, ...built.metadata } },
      report: { ...common, bits: weightDtype === 'float16' ? 16 : 32 },
    };
  }
  const out = requantizeInPlace(model, run.params, quantized, grid);
  return {
    model: out.model,
    report: {
      ...common,
      bits: grid.bits,
      groupSize: grid.groupSize ?? 'per-channel',
      clipRatio: grid.clipRatio,
      groupsOffGrid: grid.groupsOffGrid,
      changedIntegers: out.changedIntegers,
    },
  };
}

export const recover = defineTechnique({
  id: 'finetune.recover',
  family: 'finetune',
  title: 'Recovery fine-tuning (sparsity- and quantization-preserving)',
  description:
    'Fine-tunes a compressed decoder with next-token cross-entropy; weights that are exactly zero stay zero. ' +
    'int8/int4 DequantizeLinear models (quantize.rtn-int8, finetune.qat) train through fake quantization on their own grid ' +
    'and come back in the same format and size; MatMulNBits models are refused.',
  params: recoverParams,
  apply: finetuneRecover,
  check: checkTrainingRun,
  estimate: (p, shape) => estimateFinetune(p, shape),
});
