/**
 * The token stream every run is scored on: the bundled corpora's test split (the
 * reference split, so no training document leaks in), documents in split order, each
 * preceded by the tokenizer's document separator (`<|endoftext|>`, else its BOS) when it has
 * one, cut at `maxTokens`.
 */
import { splitBundledCorpora } from '@distillery/data';
import { documentSeparatorId, type TextTokenizer } from '@distillery/nn';

// Encoding whole addresses only to keep a few thousand tokens wastes time; no byte-level
// BPE averages anywhere near this many characters per token, so cutting a document here
// never leaves the stream short while a later document could still fill it.
const MAX_CHARS_PER_TOKEN = 16;

/** `checkpoint` runs between documents (it may throw to stop). */
export function evaluationTokens(tokenizer: TextTokenizer, maxTokens: number, checkpoint: () => void = () => undefined): Int32Array {
  if (!Number.isInteger(maxTokens) || maxTokens < 2) throw new Error(`maxTokens must be an integer >= 2 (got ${maxTokens})`);
  const separator = documentSeparatorId(tokenizer);
  const out = new Int32Array(maxTokens);
  let n = 0;
  for (const doc of splitBundledCorpora().test) {
    if (n >= maxTokens) break;
    checkpoint();
    if (separator !== undefined) out[n++] = separator;
    const remaining = maxTokens - n;
    const ids = tokenizer.encodeOrdinary(doc.text.slice(0, remaining * MAX_CHARS_PER_TOKEN));
    const take = Math.min(ids.length, remaining);
    for (let i = 0; i < take; i++) out[n++] = ids[i]!;
  }
  return out.subarray(0, n);
}
