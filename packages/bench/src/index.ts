export * from './suite';
export * from './table';
export * from './args';
export * from './run-suite';
export * from './machine';
