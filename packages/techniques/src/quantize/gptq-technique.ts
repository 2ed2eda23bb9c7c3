/**
 * quantize.gptq: every selected linear layer quantized by GPTQ (quantize/gptq.ts) with the
 * Hessian H = 2 XᵀX / n of its calibration inputs, captured in ORT by the kit. All Hessians
 * come from the unquantized model in one calibration pass (the reference code instead
 * re-runs each block on the already-quantized blocks before it; one pass is n_blocks
 * times cheaper and is what this first version does).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { captureActivations } from '../kit/capture-activations';
import { rewriteLinear } from '../kit/rewrite-linear';
import { noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { gptq } from './gptq';
import { specOf, weightQuantParams } from './weight-quant-params';

const ID = 'quantize.gptq';

export const gptqParams = z
  .object({
    ...weightQuantParams,
    /** Dampening λ as a fraction of the mean Hessian diagonal (the paper: 0.01). */
    percDamp: z.number().min(0).max(1).default(0.01),
    /** Quantize input features by decreasing Hessian diagonal (grids stay contiguous groups). */
    actOrder: z.boolean().default(false),
    /** Lazy-batch block in rows; changes speed only. */
    blockSize: z.number().int().min(1).max(1024).default(32),
  })
  .strict();

export type GptqParams = z.output<typeof gptqParams>;

export async function quantizeGptq(model: Model, params: GptqParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  if (!ctx.calibration?.sequences.length) throw new Error(`${ID} needs calibration data for its Hessians: give the recipe calibration data (recipe.calibration)`);
  const sel = selectLinearLayers(model, params);
  if (!sel.selected.length) throw noLayerMatched(ID, model, sel);
  const stats = await captureActivations(model, sel.selected, ctx.calibration, { gram: true, signal: ctx.signal, onProgress: (f) => ctx.onProgress(0.2 * f, 'calibration') });
  let loss = 0;
  let deadInputs = 0;
  const out = await rewriteLinear(model, {
    technique: ID,
    layers: sel.selected,
    format: params.format,
    accuracyLevel: params.accuracyLevel,
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(0.2 + 0.8 * f, m) },
    method: async (t) => {
      const s = stats.get(t.name);
      if (!s?.gram || s.count === 0) throw new Error(`${ID}: layer ${t.name} saw no calibration activations`);
      const h = Float64Array.from(s.gram, (g) => (2 * g) / s.count);
      const r = await gptq(t.values, t.inFeatures, t.outFeatures, h, { spec: specOf(params), layer: t.name, blockSize: params.blockSize, percDamp: params.percDamp, actOrder: params.actOrder });
      loss += r.loss;
      deadInputs += r.deadInputs;
      return { kind: 'quantized', weight: r };
    },
  });
  return { model: out.model, report: { ...out.report, gptqLoss: loss, deadInputs, calibrationSequences: ctx.calibration.sequences.length } };
}

export const gptqTechnique = defineTechnique({
  id: ID,
  family: 'quantize',
  title: 'GPTQ (Hessian-aware rounding)',
  description:
    'Quantizes each linear layer one input feature at a time and spreads every rounding error over the features not yet ' +
    'quantized through the inverse Hessian of the layer\'s calibration inputs (Frantar et al. 2022). Needs calibration data.',
  params: gptqParams,
  apply: quantizeGptq,
});
