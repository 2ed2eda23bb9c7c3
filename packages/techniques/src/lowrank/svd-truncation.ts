/**
 * lowrank.svd: each selected linear layer W[in, out] becomes its best rank-k approximation
 * in the Frobenius norm (Eckart & Young 1936), U_k Sigma_k V_k^T, stored as two MatMuls.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { identityTransform } from './factorize';
import { factorizeLinearLayers, lowRankParams, refineRankRule } from './lowrank-layers';

export const svdParams = z.object(lowRankParams).strict().superRefine(refineRankRule);
export type SvdParams = z.output<typeof svdParams>;

export function factorizeSvd(model: Model, params: SvdParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  return factorizeLinearLayers(model, 'lowrank.svd', params, ctx, () => identityTransform);
}

export const svdTechnique = defineTechnique({
  id: 'lowrank.svd',
  family: 'lowrank',
  title: 'Truncated SVD (two MatMuls per layer)',
  description:
    'Replaces each linear layer by its best rank-k approximation (truncated SVD) as two smaller MatMuls, with k from a rank, ' +
    'an energy share or a parameter share; layers where that would not save parameters stay dense.',
  params: svdParams,
  apply: factorizeSvd,
});
