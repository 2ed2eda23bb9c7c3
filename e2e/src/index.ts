export * from './services';
export * from './web-build';
export * from './graphql-client';
export * from './demo-model';
export { startStack, type Stack, type StackOptions } from './stack';
export * from './scenario';
export * from './process-memory';
