/**
 * Small multiple-choice tasks built deterministically from held-out text (the bundled
 * corpora's test split by default), so every machine scores the same items without a
 * download:
 * - `next-sentence`: a sentence as context; the sentence that really follows it among
 *   three sentences drawn from elsewhere in the texts.
 * - `last-word`: a cloze passage (cloze.ts) as context; its real last word among three
 *   last words of other passages.
 * Item order, distractors and the gold position come from a seeded PRNG.
 */
import { mulberry32, type Random } from '@distillery/data';
import { clozePassages } from './cloze';
import type { ChoiceItem } from './multiple-choice';

export const BUNDLED_TASKS = ['next-sentence', 'last-word'] as const;
export type BundledTaskName = (typeof BUNDLED_TASKS)[number];

const SENTENCE = /[^.!?]+[.!?]+["'”’)]*/g;

const fits = (s: string) => {
  const words = s.split(' ').length;
  return words >= 6 && words <= 40;
};

/** Sentences of each paragraph, in order. */
function paragraphSentences(texts: readonly string[]): string[][] {
  return texts.flatMap((t) => t.split(/\n\s*\n/).map((p) => (p.replace(/\s+/g, ' ').trim().match(SENTENCE) ?? []).map((s) => s.trim())));
}

/** The gold answer placed at a random position among the distractors. */
function withGold(context: string, gold: string, distractors: string[], rng: Random): ChoiceItem {
  const at = rng.nextInt(distractors.length + 1);
  const choices = [...distractors];
  choices.splice(at, 0, gold);
  return { context, choices, gold: at };
}

/** `count` distinct entries of `pool` that are not `exclude`. */
function draw(pool: readonly string[], count: number, exclude: string, rng: Random): string[] {
  const out = new Set<string>();
  for (let guard = 0; out.size < count && guard < count * 100; guard++) {
    const pick = pool[rng.nextInt(pool.length)]!;
    if (pick !== exclude) out.add(pick);
  }
  if (out.size < count) throw new Error(`not enough distinct distractors (wanted ${count})`);
  return [...out];
}

export function bundledTask(name: BundledTaskName, texts: readonly string[], count: number, seed = 20261130): ChoiceItem[] {
  const rng = mulberry32(seed);
  if (name === 'next-sentence') {
    const paragraphs = paragraphSentences(texts);
    const pairs: [string, string][] = [];
    // Only sentences that really follow each other in one paragraph make a pair.
    for (const sentences of paragraphs) {
      for (let i = 0; i + 1 < sentences.length; i++) if (fits(sentences[i]!) && fits(sentences[i + 1]!)) pairs.push([sentences[i]!, sentences[i + 1]!]);
    }
    const pool = paragraphs.flat().filter(fits);
    if (pairs.length < count) throw new Error(`the texts give ${pairs.length} sentence pairs, fewer than ${count}`);
    const step = pairs.length / count;
    return Array.from({ length: count }, (_, i) => {
      const [context, next] = pairs[Math.floor(i * step)]!;
      return withGold(context, ` ${next}`, draw(pool, 3, next, rng).map((s) => ` ${s}`), rng);
    });
  }
  const passages = clozePassages(texts, { count });
  const words = passages.map((p) => p.word);
  return passages.map((p) => withGold(p.context, ` ${p.word}`, draw(words, 3, p.word, rng).map((w) => ` ${w}`), rng));
}
