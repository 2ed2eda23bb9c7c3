export * from './tokenizer/index';
export * from './decoder/index';
export * from './train/index';
export * from './autodiff/index';
export * from './gpt2/index';
