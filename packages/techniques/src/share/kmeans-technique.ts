/**
 * share.kmeans: palettization of each selected linear layer with kmeans.ts, one codebook per
 * layer or per group of output columns, written through the kit's codebook format (packed
 * indices, Gather at load). Bits per weight count the codebooks and the index storage.
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams } from '../kit/select-linear';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { groupedKmeans } from './kmeans';

export const kmeansParams = z
  .object({
    ...linearSelectionParams,
    /** 2^bits shared values per codebook. */
    bits: z.number().int().min(1).max(8).default(4),
    /** Output columns sharing one codebook; omitted = one codebook per layer. */
    groupColumns: z.number().int().min(1).max(1 << 20).optional(),
    init: z.enum(['kmeans++', 'linear']).default('kmeans++'),
    iterations: z.number().int().min(0).max(1000).default(25),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    lmHead: z.boolean().default(false),
  })
  .strict();
export type KmeansParams = z.output<typeof kmeansParams>;

export async function shareKmeans(model: Model, params: KmeansParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'share.kmeans';
  const { bits, groupColumns, init, iterations, seed, ...selection } = params;
  const k = 2 ** bits;
  let sq = 0;
  let count = 0;
  const out = await rewriteLinear(model, {
    technique: what,
    selection,
    ctx,
    method: (t) => {
      if (t.inFeatures * t.outFeatures <= k) return null;
      const cb = groupedKmeans(t.values, t.inFeatures, t.outFeatures, groupColumns ?? t.outFeatures, { k: Math.max(2, k), iterations, init, seed }, `${what}: layer ${t.name}`);
      for (let r = 0; r < t.inFeatures; r++) {
        for (let c = 0; c < t.outFeatures; c++) {
          const i = r * t.outFeatures + c;
          sq += (t.values[i]! - cb.centroids[Math.floor(c / cb.groupColumns) * k + cb.indices[i]!]!) ** 2;
        }
      }
      count += t.values.length;
      return { kind: 'codebook', codebook: cb.centroids, indices: cb.indices, groupColumns: cb.groups > 1 ? cb.groupColumns : undefined };
    },
  });
  return { model: out.model, report: { ...out.report, codebookEntries: k, weightRmsError: Number(Math.sqrt(sq / count).toExponential(4)) } };
}

export const kmeansTechnique = defineTechnique({
  id: 'share.kmeans',
  family: 'share',
  title: 'Weight sharing by k-means (palettization)',
  description:
    'Clusters each linear layer\'s weights (or each group of output columns) into 2^bits shared values with seeded k-means ' +
    '(k-means++ or linear init); stores the codebook and packed indices, expanded by Gather when the model loads.',
  params: kmeansParams,
  apply: shareKmeans,
});
