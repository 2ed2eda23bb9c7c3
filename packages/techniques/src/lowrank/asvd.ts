/**
 * ASVD (Yuan et al. 2023, "ASVD: Activation-aware Singular Value Decomposition for
 * Compressing Large Language Models", sec. 3.2): scale input channel j by
 * S_jj = (mean_t |x_tj|)^alpha before the SVD, so channels that carry large activations
 * are approximated more closely; x W = (x S^-1)(S W), and S^-1 is folded into the first factor.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { layersWithActivations } from '../calibrated-layers';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import type { InputTransform } from './factorize';
import { factorizeLinearLayers, lowRankParams, lowRankSelection, refineRankRule } from './lowrank-layers';

/** S from per-input-channel mean absolute activations; channels that never fire get the smallest positive scale. */
export function asvdTransform(meanAbs: ArrayLike<number>, alpha: number, what: string): InputTransform {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`${what}: alpha must be in (0, 1], got ${alpha}`);
  let floor = Infinity;
  for (const v of Array.from(meanAbs)) if (v > 0 && v < floor) floor = v;
  if (!Number.isFinite(floor)) throw new Error(`${what}: every input channel is zero over the calibration data`);
  const s = Float64Array.from(meanAbs as ArrayLike<number>, (v) => Math.pow(v > 0 ? v : floor, alpha));
  return {
    apply(w, rows, cols) {
      if (rows !== s.length) throw new Error(`${what}: ${s.length} activation scales for a weight with ${rows} inputs`);
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = s[r]! * w[r * cols + c]!;
      return out;
    },
    invert(a, rows, k) {
      const out = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) out[r * k + j] = a[r * k + j]! / s[r]!;
      return out;
    },
  };
}

export const asvdParams = z
  .object({
    ...lowRankParams,
    /** Exponent of the activation scale (the paper's alpha; 0.5 works across models, sec. 4). */
    alpha: z.number().gt(0).max(1).default(0.5),
  })
  .strict()
  .superRefine(refineRankRule);
export type AsvdParams = z.output<typeof asvdParams>;

export async function factorizeAsvd(model: Model, params: AsvdParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'lowrank.asvd';
  const { layers, stats } = await layersWithActivations(model, what, lowRankSelection(params), ctx, false);
  return factorizeLinearLayers(
    model,
    what,
    params,
    ctx,
    (t) => {
      const s = stats.get(t.name)!;
      return asvdTransform(Float64Array.from(s.sumAbs, (v) => v / s.count), params.alpha, `${what}: layer ${t.name}`);
    },
    layers,
  );
}

export const asvdTechnique = defineTechnique({
  id: 'lowrank.asvd',
  family: 'lowrank',
  title: 'Activation-aware SVD (ASVD)',
  description:
    'Truncated SVD of each linear layer after scaling its input channels by their mean activation magnitude^alpha on calibration ' +
    'data, so channels carrying large activations are kept more exactly; two MatMuls per layer.',
  params: asvdParams,
  apply: factorizeAsvd,
});
