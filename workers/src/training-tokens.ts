/**
 * The text training techniques (distillation, recovery fine-tuning, QAT) learn from: the
 * bundled corpora's train split, tokenized with the base model's tokenizer, and the
 * validation split they report held-out points on. The run's own evaluation uses the test
 * split (evaluation-tokens.ts), so training never sees the text a run is scored on.
 * Tokenizing 2.5M tokens takes about a second, so it happens lazily, once per thread and
 * tokenizer, and only when a technique asks for it.
 */
import { createHash } from 'node:crypto';
import { splitBundledCorpora } from '@distillery/data';
import { fromTokenizerJson } from '@distillery/nn';

type Split = 'train' | 'validation';
const cache = new Map<string, Int32Array>();

function splitTokens(tokenizerJson: string, split: Split): Int32Array {
  const key = `${split}:${createHash('sha256').update(tokenizerJson).digest('hex')}`;
  let tokens = cache.get(key);
  if (!tokens) {
    const tokenizer = fromTokenizerJson(JSON.parse(tokenizerJson));
    tokens = tokenizer.encodeDocuments(splitBundledCorpora()[split].map((d) => d.text));
    // One tokenizer at a time is what a thread works with.
    for (const k of cache.keys()) if (!k.endsWith(key.slice(split.length))) cache.delete(k);
    cache.set(key, tokens);
  }
  return tokens;
}

export const trainingTokens = (tokenizerJson: string): Int32Array => splitTokens(tokenizerJson, 'train');
export const heldOutTokens = (tokenizerJson: string): Int32Array => splitTokens(tokenizerJson, 'validation');
