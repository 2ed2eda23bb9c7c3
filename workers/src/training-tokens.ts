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
import { encodeDocuments, parseTokenizer } from '@distillery/nn';

type Split = 'train' | 'validation';
const cache = new Map<string, Int32Array>();

/** Called between documents: may throw CanceledError to stop, and hears how far tokenizing got. */
export type TokenizeCheckpoint = (done: number, total: number) => void;

function encodeWithCheckpoints(tokenizerJson: string, texts: string[], checkpoint: TokenizeCheckpoint): Int32Array {
  return encodeDocuments(parseTokenizer(tokenizerJson), texts, checkpoint);
}

function splitTokens(tokenizerJson: string, split: Split, checkpoint: TokenizeCheckpoint): Int32Array {
  const key = `${split}:${createHash('sha256').update(tokenizerJson).digest('hex')}`;
  let tokens = cache.get(key);
  if (!tokens) {
    tokens = encodeWithCheckpoints(tokenizerJson, splitBundledCorpora()[split].map((d) => d.text), checkpoint);
    // One tokenizer at a time is what a thread works with.
    for (const k of cache.keys()) if (!k.endsWith(key.slice(split.length))) cache.delete(k);
    cache.set(key, tokens);
  }
  return tokens;
}

const quiet: TokenizeCheckpoint = () => undefined;
export const trainingTokens = (tokenizerJson: string, checkpoint = quiet): Int32Array => splitTokens(tokenizerJson, 'train', checkpoint);
export const heldOutTokens = (tokenizerJson: string, checkpoint = quiet): Int32Array => splitTokens(tokenizerJson, 'validation', checkpoint);
