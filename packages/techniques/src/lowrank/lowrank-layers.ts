/**
 * What the low-rank techniques share: the rank rule parameters (a rank, an energy share or a
 * parameter share, one of them) next to the kit's layer selection, and one pass over the
 * selected layers through the kit's rewrite driver, which writes each factorized layer as two
 * MatMuls (formats/factors.ts). Layers where the chosen rank would not reduce parameters stay
 * dense. The report gives the time spent in SVDs, the ranks, and parameters before and after.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams, type LinearSelectionInput, type SelectedLayer } from '../kit/select-linear';
import type { LinearTarget } from '../kit/linear-result';
import type { TechniqueContext, TechniqueResult } from '../technique';
import { factorize, type InputTransform } from './factorize';
import type { RankRule } from './rank-rule';

export const lowRankParams = {
  ...linearSelectionParams,
  /** Keep this many singular directions per layer. */
  rank: z.number().int().min(1).max(65536).optional(),
  /** Keep the fewest directions holding this share of sum(sigma^2). */
  energy: z.number().gt(0).max(1).optional(),
  /** Keep this share of each layer's parameters: rank = floor(ratio * in * out / (in + out)). */
  paramsRatio: z.number().gt(0).lt(1).optional(),
  /** The vocabulary projection is usually the most sensitive to truncation. */
  lmHead: z.boolean().default(false),
};
type LowRankFields = z.output<z.ZodObject<typeof lowRankParams>>;

export function refineRankRule(p: Pick<LowRankFields, 'rank' | 'energy' | 'paramsRatio'>, ctx: z.RefinementCtx): void {
  const given = [p.rank, p.energy, p.paramsRatio].filter((v) => v !== undefined).length;
  if (given !== 1) ctx.addIssue({ code: 'custom', path: ['rank'], message: 'give exactly one of rank, energy and paramsRatio' });
}

export function rankRuleOf(p: LowRankFields): RankRule {
  if (p.rank !== undefined) return { kind: 'rank', rank: p.rank };
  if (p.energy !== undefined) return { kind: 'energy', energy: p.energy };
  return { kind: 'params', ratio: p.paramsRatio! };
}

export function lowRankSelection(p: LowRankFields): LinearSelectionInput {
  const { blocks, roles, match, skip, minSize, lmHead } = p;
  return { blocks, roles, match, skip, minSize, lmHead };
}

/** The input transform of one method for one layer (identity, ASVD scaling, SVD-LLM whitening). */
export type TransformFor = (t: LinearTarget) => InputTransform | Promise<InputTransform>;

export async function factorizeLinearLayers(
  model: Model,
  technique: string,
  params: LowRankFields,
  ctx: TechniqueContext,
  transformFor: TransformFor,
  /** Layers chosen (and their activations captured) beforehand; default: the params' selection. */
  layers?: SelectedLayer[],
): Promise<TechniqueResult> {
  const rule = rankRuleOf(params);
  let svdMs = 0;
  let paramsBefore = 0;
  let paramsAfter = 0;
  let relErrSum = 0;
  const ranks: string[] = [];
  const out = await rewriteLinear(model, {
    technique,
    selection: lowRankSelection(params),
    layers,
    ctx,
    method: async (t) => {
      const transform = await transformFor(t);
      const t0 = performance.now();
      const f = factorize(t.values, t.inFeatures, t.outFeatures, rule, transform, `${technique}: layer ${t.name}`);
      svdMs += performance.now() - t0;
      if (!f) return null;
      paramsBefore += t.inFeatures * t.outFeatures;
      paramsAfter += f.rank * (t.inFeatures + t.outFeatures);
      relErrSum += f.relativeError;
      ranks.push(`${t.name.replace(/^\/model\//, '').replace(/\/MatMul$/, '')}:${f.rank}`);
      return { kind: 'factors', left: f.a, right: f.b, rank: f.rank };
    },
  });
  return {
    model: out.model,
    report: {
      ...out.report,
      svdSeconds: Number((svdMs / 1000).toFixed(3)),
      layerParamsBefore: paramsBefore,
      layerParamsAfter: paramsAfter,
      meanRelativeError: Number((relErrSum / Math.max(1, ranks.length)).toFixed(5)),
      ranks: ranks.join(','),
    },
  };
}
