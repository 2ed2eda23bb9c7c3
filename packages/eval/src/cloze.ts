/**
 * Cloze accuracy in the style of LAMBADA (Paperno et al. 2016): the model reads a passage
 * without its last word and must produce that word; it counts as right only if greedy
 * prediction gives every token of the word. Passages are built deterministically from
 * held-out documents: runs of whole sentences within a word budget, ending in a word of
 * letters only.
 */
import { scoreSequences } from './sequence-scores';
import type { WindowScorer } from './window-scorer';

export interface ClozePassage {
  /** The passage up to, not including, the space before the last word. */
  context: string;
  /** The last word, without punctuation. */
  word: string;
}

export interface ClozeOptions {
  count: number;
  minWords?: number;
  maxWords?: number;
}

const SENTENCE = /[^.!?]+[.!?]+["'”’)]*/g;
const LAST_WORD = /\s([A-Za-z]{3,})[.!?]+["'”’)]*$/;

/** Every candidate passage of the texts, in order; then `count` of them evenly spaced. */
export function clozePassages(texts: readonly string[], opts: ClozeOptions): ClozePassage[] {
  const minWords = opts.minWords ?? 25;
  const maxWords = opts.maxWords ?? 70;
  const all: ClozePassage[] = [];
  for (const text of texts) {
    for (const paragraph of text.split(/\n\s*\n/)) {
      const sentences = paragraph.replace(/\s+/g, ' ').trim().match(SENTENCE) ?? [];
      let passage = '';
      let words = 0;
      for (const s of sentences) {
        const n = s.trim().split(' ').length;
        if (words + n > maxWords) {
          passage = '';
          words = 0;
          if (n > maxWords) continue;
        }
        passage = (passage + ' ' + s.trim()).trim();
        words += n;
        const m = LAST_WORD.exec(passage);
        if (words >= minWords && m) {
          all.push({ context: passage.slice(0, m.index), word: m[1]! });
          passage = '';
          words = 0;
        }
      }
    }
  }
  if (all.length < opts.count) throw new Error(`the texts give ${all.length} cloze passages, fewer than the ${opts.count} asked for`);
  const step = all.length / opts.count;
  return Array.from({ length: opts.count }, (_, i) => all[Math.floor(i * step)]!);
}

export interface TokenizedCloze {
  context: number[];
  target: number[];
}

/** Encodes passages (the word with its leading space, as it follows the context); keeps the end of long contexts. */
export function tokenizeCloze(passages: readonly ClozePassage[], encode: (text: string) => number[], maxLength: number): TokenizedCloze[] {
  return passages.map((p, i) => {
    const target = encode(` ${p.word}`);
    let context = encode(p.context);
    if (context.length === 0 || target.length === 0) throw new Error(`cloze passage ${i} encodes to no tokens`);
    if (target.length >= maxLength) throw new Error(`cloze passage ${i}: the word takes ${target.length} tokens, more than the ${maxLength}-token window allows`);
    if (context.length + target.length > maxLength) context = context.slice(context.length + target.length - maxLength);
    return { context, target };
  });
}

export interface ClozeResult {
  accuracy: number;
  items: number;
  /** Per passage: whether every token of the word was the greedy prediction. */
  correct: boolean[];
}

export async function clozeAccuracy(
  scorer: WindowScorer,
  items: readonly TokenizedCloze[],
  opts: { batch?: number; signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<ClozeResult> {
  if (items.length === 0) throw new Error('cloze needs at least one passage');
  const scored = await scoreSequences(scorer, items.map((it) => [...it.context, ...it.target]), opts);
  const correct = items.map((it, i) => it.target.every((tok, j) => scored[i]!.top1[it.context.length - 1 + j] === tok));
  return { accuracy: correct.filter(Boolean).length / items.length, items: items.length, correct };
}
