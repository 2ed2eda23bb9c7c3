export { BpeTokenizer, END_OF_TEXT, type AddedToken, type BpeModel } from './bpe-tokenizer';
export { trainBpe, type TrainBpeOptions } from './train-bpe';
export { fromTokenizerJson, toTokenizerConfigJson, toTokenizerJson, type TokenizerJson } from './tokenizer-json';
export { splitWords } from './pretokenize';
export { BYTE_TO_CHAR } from './byte-unicode';
export { Tokenizer, loadTokenizer, parseTokenizer, type DecodeOptions, type EncodeOptions, type TextTokenizer } from './tokenizer';
export { TokenizerJsonError } from './tokenizer-json-error';
export type { AddedTokenSpec } from './added-tokens';
export type { TokenModel } from './token-model';
export {
  compareConfigTokenIds,
  tokenizerSpecialTokens,
  type ConfigTokenIdReport,
  type ModelConfigIds,
  type SpecialTokenChoice,
  type SpecialTokenRole,
  type TokenIdDisagreement,
  type TokenizerConfigTokens,
} from './config-token-ids';
export { tokenByteLengths } from './token-bytes';
export { documentSeparatorId, encodeDocuments } from './document-stream';
