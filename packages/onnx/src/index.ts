export * from './model';
export * from './dtype';
export * from './tensor';
export * from './proto-codec';
export * from './model-io';
export * from './graph-builder';
