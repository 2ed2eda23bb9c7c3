/**
 * The text training techniques (distillation, recovery fine-tuning, QAT) learn from: the
 * bundled corpora's train split, tokenized with the base model's tokenizer. Evaluation
 * uses the test split (evaluation-tokens.ts), so training never sees scored text.
 * Tokenizing 2.5M tokens takes about a second, so it happens lazily, once per thread and
 * tokenizer, and only when a technique asks for it.
 */
import { createHash } from 'node:crypto';
import { splitBundledCorpora } from '@distillery/data';
import { fromTokenizerJson } from '@distillery/nn';

const cache = new Map<string, Int32Array>();

export function trainingTokens(tokenizerJson: string): Int32Array {
  const key = createHash('sha256').update(tokenizerJson).digest('hex');
  let tokens = cache.get(key);
  if (!tokens) {
    const tokenizer = fromTokenizerJson(JSON.parse(tokenizerJson));
    tokens = tokenizer.encodeDocuments(splitBundledCorpora().train.map((d) => d.text));
    cache.clear(); // one tokenizer at a time is what a thread works with
    cache.set(key, tokens);
  }
  return tokens;
}
