export { bundledDocuments, mobyDickDocuments, sotuDocuments, type CorpusDocument, type CorpusName } from './corpora';
export {
  contentHash,
  DEFAULT_FRACTIONS,
  splitDocuments,
  type DatasetSplit,
  type SplitDescriptor,
  type SplitFractions,
  type SplitName,
  type SplitOptions,
  type SplittableDocument,
} from './splits';
export { BUNDLED_SPLIT_SEED, splitBundledCorpora } from './bundled-split';
export { mulberry32, type Random } from './random';
export { sampleSequences } from './calibration';
export {
  DatasetError,
  DEFAULT_MAX_DATASET_BYTES,
  formatFromFileName,
  parseUserDataset,
  type DatasetErrorCode,
  type DatasetFormat,
  type UserDatasetOptions,
  type UserDocument,
} from './user-dataset';
