/**
 * finetune.qat: quantization-aware training to 4-bit weights (Jacob et al. 2018,
 * "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
 * Inference", sec. 3). The training graph reads fake-quantized copies of the block
 * projections (symmetric, per output channel or per group of input rows) and passes
 * gradients straight through inside the clipping range (Bengio et al. 2013); the float
 * weights it updates are rounded once more at the end with the very same quantizer and
 * emitted as int4 DequantizeLinear + MatMul. Embedding, norms and LM head stay float.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { buildDecoder, decoderWeightShapes, decoderWeightsFromModel, isBlockLinearWeight } from '@distillery/nn';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { checkTokens, trainDecoder } from './decoder-training';
import { writeQuantizedWeights } from '../kit/rewrite-linear';
import { refuseQuantized } from './recover';
import { trainingRunParams } from './schedule-params';
import { quantizeWeight, type QuantizedWeight } from '../kit/quantizer';

export const qatParams = z
  .object({
    ...trainingRunParams,
    /** Stored as int4 whatever the width, so 2..4. */
    bits: z.number().int('bits must be an integer').min(2, 'bits must be 2, 3 or 4').max(4, 'bits must be 2, 3 or 4').default(4),
    /** Input rows per scale within an output channel; omitted = one scale per output channel. */
    groupSize: z.number().int('groupSize must be an integer').positive('groupSize must be positive').optional(),
    clipRatio: z.number().gt(0, 'clipRatio must be in (0, 1]').max(1, 'clipRatio must be in (0, 1]').default(1),
  })
  .strict();
export type QatParams = z.output<typeof qatParams>;

/** Round every block projection with the QAT quantizer (also the plain-rounding baseline with 0 steps). */
export function quantizeBlockLinears(weights: Map<string, Float32Array>, shapes: Map<string, number[]>, p: Pick<QatParams, 'bits' | 'groupSize' | 'clipRatio'>): Map<string, QuantizedWeight> {
  const out = new Map<string, QuantizedWeight>();
  for (const [name, w] of weights) {
    if (!isBlockLinearWeight(name)) continue;
    const [rows, cols] = shapes.get(name)! as [number, number];
    if (p.groupSize !== undefined && rows % p.groupSize !== 0) throw new Error(`groupSize ${p.groupSize} does not divide the ${rows} input features of ${name}`);
    out.set(name, quantizeWeight(w, rows, cols, { bits: p.bits, symmetric: true, groupSize: p.groupSize, clipRatio: p.clipRatio }, name));
  }
  return out;
}

export async function finetuneQat(model: Model, params: QatParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  refuseQuantized(model, 'finetune.qat');
  const tokens = ctx.trainingTokens;
  if (!tokens) throw new Error('finetune.qat needs training tokens (ctx.trainingTokens) tokenized with the model\'s tokenizer');
  const { config, weights } = decoderWeightsFromModel(model);
  checkTokens(tokens, config.vocabSize, 'finetune.qat');
  const shapes = decoderWeightShapes(config);
  // Fail on a bad groupSize before training, not after.
  for (const [name, [rows]] of shapes) {
    if (params.groupSize !== undefined && isBlockLinearWeight(name) && rows! % params.groupSize !== 0) {
      throw new Error(`finetune.qat: groupSize ${params.groupSize} does not divide the ${rows} input features of ${name}`);
    }
  }
  const fakeQuant = { bits: params.bits, groupSize: params.groupSize, clipRatio: params.clipRatio };
  const run = await trainDecoder({ ...params, config, params: weights, tokens, graph: { loss: 'ce', fakeQuant }, ctx });
  const built = buildDecoder(config, run.params);
  const rewrite = await writeQuantizedWeights({ ...built, metadata: { ...model.metadata, ...built.metadata } }, quantizeBlockLinears(run.params, shapes, params), {
    technique: 'finetune.qat',
    ctx: { ...ctx, onProgress: () => {} },
  });
  ctx.onProgress(1, 'done');
  return {
    model: rewrite.model,
    report: {
      steps: run.steps,
      initialLoss: run.lossCurve[0]?.loss ?? NaN,
      finalLoss: run.finalLoss,
      bits: params.bits,
      groupSize: params.groupSize ?? 'per-channel',
      layersQuantized: rewrite.report.layersRewritten!,
      weightBytesBefore: rewrite.report.weightBytesBefore!,
      weightBytesAfter: rewrite.report.weightBytesAfter!,
    },
  };
}

export const qat = defineTechnique({
  id: 'finetune.qat',
  family: 'finetune',
  title: 'Quantization-aware training to int4 weights',
  description:
    'Fine-tunes a float decoder through fake 4-bit quantization of its block projections (straight-through ' +
    'gradients), then emits them as int4 DequantizeLinear + MatMul (opset 21), one scale per output channel or group.',
  params: qatParams,
  apply: finetuneQat,
});
