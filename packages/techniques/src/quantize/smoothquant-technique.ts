/**
 * quantize.smoothquant: W8A8 with activation outliers migrated into the weights (Xiao et
 * al. 2022, §4). Per layer group reading one input, s = max|X_j|^α / max|W_j|^(1-α)
 * (smoothquant.ts) from the calibration capture's per-channel max |x|; the weights' rows
 * are multiplied by s and 1/s folded into the op before them (input-scaling.ts), then
 * every weight gets 7-bit codes (stored int8) per output channel, the matmul-integer
 * format's grid that ORT's int16 pair sums cannot saturate, and every activation is
 * quantized to 8 bits at run time (DynamicQuantizeLinear + MatMulInteger).
 */
import { z } from 'zod';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { captureActivations } from '../kit/capture-activations';
import { quantizeForMatMulInteger } from '../kit/formats/matmul-integer';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { InputScaling, inputGroups, type ScaleSink } from './input-scaling';
import { smoothQuantScales, weightRowAbsMax } from './smoothquant';

const ID = 'quantize.smoothquant';

export const smoothQuantParams = z
  .object({
    ...linearSelectionParams,
    /** Migration strength: 0 leaves activations as they are, 1 moves all of their range into the weights (the paper: 0.5). */
    alpha: z.number().min(0).max(1).default(0.5),
    /** Fold 1/s into the preceding norm or linear layer where possible; false = always an explicit Mul. */
    fold: z.boolean().default(true),
  })
  .strict();

export type SmoothQuantParams = z.output<typeof smoothQuantParams>;

export async function quantizeSmoothQuant(model: Model, params: SmoothQuantParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  if (!ctx.calibration?.sequences.length) throw new Error(`${ID} needs calibration data for its activation ranges: give the recipe calibration data (recipe.calibration)`);
  const sel = selectLinearLayers(model, params);
  if (!sel.selected.length) throw noLayerMatched(ID, model, sel);
  const stats = await captureActivations(model, sel.selected, ctx.calibration, { signal: ctx.signal, onProgress: (f) => ctx.onProgress(0.5 * f, 'calibration') });
  const scaling = new InputScaling(model, sel.selected, params.fold);
  for (const g of inputGroups(sel.selected)) {
    const actMax = Float32Array.from(stats.get(g.layers[0]!.name)!.absMax);
    const wMax = weightRowAbsMax(g.layers.map((l) => ({ values: tensorToFloat32(l.layer.weight), rows: l.layer.inFeatures, cols: l.layer.outFeatures })));
    scaling.add(g, smoothQuantScales(actMax, wMax, params.alpha));
  }
  const out = await rewriteLinear(scaling.scaledModel(), {
    technique: ID,
    selection: params,
    format: 'matmul-integer',
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(0.5 + 0.5 * f, m) },
    method: (t) => {
      return { kind: 'quantized', weight: quantizeForMatMulInteger(scaling.scaleWeight(t), t.inFeatures, t.outFeatures, t.name) };
    },
  });
  const count = (kind: ScaleSink['kind']) => scaling.count(kind);
  return {
    model: out.model,
    report: { ...out.report, alpha: params.alpha, groups: scaling.plans.length, foldedIntoNorm: count('norm-weight'), foldedIntoLinear: count('linear-output'), explicitMul: count('explicit-mul') },
  };
}

export const smoothQuantTechnique = defineTechnique({
  id: ID,
  family: 'quantize',
  title: 'SmoothQuant W8A8 (int8 weights and activations)',
  description:
    'Moves activation outliers into the weights with per-channel factors from calibration maxima (Xiao et al. 2022), ' +
    'folded into the preceding norm or linear layer where possible, then int8 weights per output channel and ' +
    'dynamically quantized int8 activations (DynamicQuantizeLinear + MatMulInteger). Needs calibration data.',
  params: smoothQuantParams,
  apply: quantizeSmoothQuant,
});
