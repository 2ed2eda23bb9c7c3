export * from './technique';
export * from './canceled';
export * from './registry';
export * from './recipe';
export * from './linear-weights';
export * from './quantize/int8-per-column';
export * from './quantize/rtn-int8';
