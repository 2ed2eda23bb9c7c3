export * from './shape';
export * from './tracer';
export * from './ops/index';
export * from './decoder-forward';
export * from './training-graph';
export * from './training-session';
export * from './gradient-check';
export * from './measure-step';
