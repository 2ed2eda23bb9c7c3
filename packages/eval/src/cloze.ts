/**
 * Cloze accuracy in the style of LAMBADA (Paperno et al. 2016): the model reads a passage
 * without its last word and must produce that word; it counts as right only if greedy
 * prediction gives every token of the word. Passages are built deterministically from
 * held-out documents: runs of whole sentences within a word budget, ending in a word of
 * letters only.
 */
import { paragraphsOf, sentencesOf } from './sentences';
import { scoreSequences, type SequenceScoringOptions } from './sequence-scores';
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

const LAST_WORD = /\s([A-Za-z]{3,})[.!?]+["'”’)]*$/;

/** Every candidate passage of the texts, in order; then `count` of them evenly spaced. */
export function clozePassages(texts: readonly string[], opts: ClozeOptions): ClozePassage[] {
  const minWords = opts.minWords ?? 25;
  const maxWords = opts.maxWords ?? 70;
  const all: ClozePassage[] = [];
  for (const text of texts) {
    for (const paragraph of paragraphsOf(text)) {
      const sentences = sentencesOf(paragraph);
      let passage = '';
      let words = 0;
      for (const s of sentences) {
        const n = s.split(' ').length;
        if (words + n > maxWords) {
          passage = '';
          words = 0;
          if (n > maxWords) continue;
        }
        passage = passage ? `${passage} ${s}` : s;
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

/** Encodes passages (the word with its leading space, as it follows the context); keeps the end of long contexts, leaves out words longer than the window. */
export function tokenizeCloze(passages: readonly ClozePassage[], encode: (text: string) => number[], maxLength: number): TokenizedCloze[] {
  const out: TokenizedCloze[] = [];
  passages.forEach((p, i) => {
    const target = encode(` ${p.word}`);
    let context = encode(p.context);
    if (context.length === 0 || target.length === 0) throw new Error(`cloze passage ${i} encodes to no tokens`);
    if (target.length >= maxLength) return;
    if (context.length + target.length > maxLength) context = context.slice(context.length + target.length - maxLength);
    out.push({ context, target });
  });
  return out;
}

export interface ClozeResult {
  accuracy: number;
  items: number;
  /** Per passage: whether every token of the word was the greedy prediction. */
  correct: boolean[];
}

export async function clozeAccuracy(scorer: WindowScorer, items: readonly TokenizedCloze[], opts: SequenceScoringOptions = {}): Promise<ClozeResult> {
  if (items.length === 0) throw new Error('cloze needs at least one passage');
  const scored = await scoreSequences(scorer, items.map((it) => [...it.context, ...it.target]), opts);
  const correct = items.map((it, i) => it.target.every((tok, j) => scored[i]!.top1[it.context.length - 1 + j] === tok));
  return { accuracy: correct.filter(Boolean).length / items.length, items: items.length, correct };
}
