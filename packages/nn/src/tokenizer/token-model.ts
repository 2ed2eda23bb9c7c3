/** What every tokenizer.json model (BPE, WordPiece, Unigram) offers the pipeline. */
export interface TokenModel {
  /** The model's own vocabulary (added tokens are kept apart). */
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string | null;
  /** True when {@link encode} can take raw text for `rawBytes` pieces (a byte-level BPE). */
  readonly acceptsRawBytes: boolean;
  /**
   * Appends the ids of each word in `pieces`. With `rawBytes`, the pieces are raw text
   * whose UTF-8 bytes stand for GPT-2 byte symbols (see {@link acceptsRawBytes}).
   */
  encode(pieces: readonly string[], rawBytes: boolean, out: number[]): void;
}

/** SentencePiece's byte-fallback token for a byte, e.g. `<0x0A>`. */
export function byteFallbackToken(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}
