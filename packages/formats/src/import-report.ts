/** What an import tells the user about the model it converted. */
export interface ImportReport {
  /** Detected from the bytes: 'onnx', 'safetensors', 'llama2c', ... */
  readonly format: string;
  /** config.json's model_type, or what the file says it is. */
  readonly architecture: string;
  readonly parameters: number;
  /** Tensors by source dtype. */
  readonly dtypes: Record<string, number>;
  /** e.g. 'BPE (byte-level)', 'BPE (SentencePiece-style)', 'Unigram'; null without a tokenizer. */
  readonly tokenizerKind: string | null;
  readonly warnings: string[];
}
