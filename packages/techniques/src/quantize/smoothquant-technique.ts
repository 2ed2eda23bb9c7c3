/**
 * quantize.smoothquant: W8A8 with activation outliers migrated into the weights (Xiao et
 * al. 2022, §4). Per layer group reading one input, s = max|X_j|^α / max|W_j|^(1-α)
 * (smoothquant.ts) from the calibration capture's per-channel max |x|; the weights' rows
 * are multiplied by s and 1/s folded into the op before them (input-scaling.ts), then
 * every weight is int8 per output channel and every activation is quantized to 8 bits
 * at run time (DynamicQuantizeLinear + MatMulInteger, the kit's matmul-integer format).
 */
import { z } from 'zod';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { captureActivations } from '../kit/capture-activations';
import { quantizeWeight } from '../kit/quantizer';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, noLayerMatched, selectLinearLayers } from '../kit/select-linear';
import { applyInputScaling, findScaleSink, inputGroups, type InputGroup, type ScaleSink } from './input-scaling';
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
  const rewrittenOutputs = new Map(sel.selected.flatMap((l) => l.layer.matmuls.map((m) => [m.outputs[0]!, l.layer.weight.name] as const)));
  const rowScale = new Map<string, Float32Array>();
  const columnScale = new Map<string, Float32Array>();
  const plans: { group: InputGroup; sink: ScaleSink; scales: Float32Array; computeDtype: 'float32' | 'float16' }[] = [];
  for (const g of inputGroups(sel.selected)) {
    const actMax = Float32Array.from(stats.get(g.layers[0]!.name)!.absMax);
    const wMax = weightRowAbsMax(g.layers.map((l) => ({ values: tensorToFloat32(l.layer.weight), rows: l.layer.inFeatures, cols: l.layer.outFeatures })));
    const s = smoothQuantScales(actMax, wMax, params.alpha);
    for (const l of g.layers) rowScale.set(l.name, s);
    const sink: ScaleSink = params.fold ? findScaleSink(model, g, rewrittenOutputs) : { kind: 'explicit-mul' };
    if (sink.kind === 'linear-output') columnScale.set(sink.weight, Float32Array.from(s, (x) => 1 / x));
    plans.push({ group: g, sink, scales: s, computeDtype: g.layers[0]!.layer.computeDtype });
  }
  const out = await rewriteLinear(applyInputScaling(model, plans), {
    technique: ID,
    selection: params,
    format: 'matmul-integer',
    ctx: { ...ctx, onProgress: (f, m) => ctx.onProgress(0.5 + 0.5 * f, m) },
    method: (t) => {
      const v = t.values;
      const rs = rowScale.get(t.name);
      const cs = columnScale.get(t.weightName);
      for (let r = 0; r < t.inFeatures; r++)
        for (let c = 0; c < t.outFeatures; c++) v[r * t.outFeatures + c]! *= (rs ? rs[r]! : 1) * (cs ? cs[c]! : 1);
      return { kind: 'quantized', weight: quantizeWeight(v, t.inFeatures, t.outFeatures, { bits: 8, symmetric: true }, t.name) };
    },
  });
  const count = (kind: ScaleSink['kind']) => plans.filter((p) => p.sink.kind === kind).length;
  return {
    model: out.model,
    report: { ...out.report, alpha: params.alpha, groups: plans.length, foldedIntoNorm: count('norm-weight'), foldedIntoLinear: count('linear-output'), explicitMul: count('explicit-mul') },
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
