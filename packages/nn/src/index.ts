export * from './tokenizer/index';
export * from './decoder/index';
