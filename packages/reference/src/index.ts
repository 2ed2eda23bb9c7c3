export * from './recipe';
export * from './model-folder';
export * from './train-reference';
export * from './reference-dir';
export * from './ascii-curve';
export * from './evaluate-folder';
