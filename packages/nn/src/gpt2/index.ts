export * from './gpt2-config';
export * from './gpt2-reference';
export * from './build-gpt2';
