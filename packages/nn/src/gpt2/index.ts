export * from './gpt2-config';
export * from './gpt2-reference';
export * from './build-gpt2';
export * from './gpt2-weights-from-model';
