export * from './config';
export * from './weights';
export * from './prng';
export * from './reference-forward';
export * from './build-decoder';
export * from './decoder-session';
export * from './generate';
export * from './weights-from-model';
