export { BpeTokenizer, END_OF_TEXT, type AddedToken, type BpeModel } from './bpe-tokenizer';
export { trainBpe, type TrainBpeOptions } from './train-bpe';
export { fromTokenizerJson, toTokenizerConfigJson, toTokenizerJson, type TokenizerJson } from './tokenizer-json';
export { splitWords } from './pretokenize';
export { BYTE_TO_CHAR } from './byte-unicode';
