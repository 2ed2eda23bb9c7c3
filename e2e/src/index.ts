export * from '@distillery/services';

export * from './demo-model';
export { startStack, type Stack, type StackOptions } from './stack';
export * from './scenario';
export * from './process-memory';
export * from './seed-runs';
export * from './browser';
export { startProcessStack, type ProcessStack } from './process-stack';
