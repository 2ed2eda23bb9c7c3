export * from './causal-lm-session';
export * from './log-softmax';
export * from './sliding-windows';
export * from './perplexity';
export * from './size';
export * from './latency';
export * from './unigram';
