import { END_OF_TEXT } from './bpe-tokenizer';
import { tokenizerSpecialTokens } from './config-token-ids';
import { Tokenizer, type TextTokenizer } from './tokenizer';

/**
 * The id placed before each document of a token stream: `<|endoftext|>` where the
 * vocabulary has it (GPT-2 and our own tokenizers), else the tokenizer's BOS (`<s>`,
 * `<|begin_of_text|>`); undefined when it has neither, and documents then simply follow
 * each other.
 */
export function documentSeparatorId(tokenizer: TextTokenizer): number | undefined {
  const endOfText = tokenizer.tokenToId(END_OF_TEXT);
  if (endOfText !== undefined) return endOfText;
  return tokenizer instanceof Tokenizer ? tokenizerSpecialTokens(tokenizer).bos?.id : undefined;
}

/**
 * One token stream of documents, each preceded by the separator (when there is one), contents
 * encoded as plain text; `checkpoint(done, total)` runs between documents and may throw to stop.
 */
export function encodeDocuments(tokenizer: TextTokenizer, texts: readonly string[], checkpoint: (done: number, total: number) => void = () => undefined): Int32Array {
  const separator = documentSeparatorId(tokenizer);
  const parts: number[][] = [];
  let n = 0;
  for (let i = 0; i < texts.length; i++) {
    checkpoint(i, texts.length);
    const ids = tokenizer.encodeOrdinary(texts[i]);
    parts.push(ids);
    n += ids.length + (separator === undefined ? 0 : 1);
  }
  checkpoint(texts.length, texts.length);
  const out = new Int32Array(n);
  let at = 0;
  for (const ids of parts) {
    if (separator !== undefined) out[at++] = separator;
    out.set(ids, at);
    at += ids.length;
  }
  return out;
}
