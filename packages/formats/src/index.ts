export * from './gguf/gguf-types';
export * from './gguf/gguf-blocks';
export * from './gguf/gguf-writer';
export * from './gguf/gguf-llama-tensors';
export * from './gguf/gguf-vocab';
export * from './gguf/gguf-export';
export * from './gguf/llama-cpp-runner';
