import { bundledDocuments, type CorpusDocument } from './corpora';
import { DEFAULT_FRACTIONS, splitDocuments, type DatasetSplit, type SplitFractions } from './splits';

/** Seed of the split the reference model is trained on. */
export const BUNDLED_SPLIT_SEED = 20_261_101;

/** The bundled corpora split by document; with the defaults this is the reference split. */
export function splitBundledCorpora(seed: number = BUNDLED_SPLIT_SEED, fractions: SplitFractions = DEFAULT_FRACTIONS): DatasetSplit<CorpusDocument> {
  return splitDocuments(bundledDocuments(), { name: 'bundled', seed, fractions });
}
