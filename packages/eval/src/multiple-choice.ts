/**
 * Multiple-choice tasks scored by log-likelihood, as lm-evaluation-harness scores them
 * (Gao et al. 2021): each choice's summed log p(choice tokens | context); accuracy picks
 * the largest sum, length-normalized accuracy the largest sum per UTF-8 byte of the choice
 * (the harness's acc_norm, which divides by the choice's length). The task file format
 * is in choice-task-file.ts.
 */
import type { ChoiceItem } from './choice-task-file';
import { scoreSequences, type SequenceScoringOptions } from './sequence-scores';
import type { WindowScorer } from './window-scorer';

export interface TokenizedChoiceItem {
  context: number[];
  choices: number[][];
  gold: number;
  /** UTF-8 bytes of each choice's text, for length normalization. */
  choiceBytes: number[];
}

/**
 * Encodes items; keeps the end of a context that would not fit `maxLength` with its
 * longest choice. Items whose choices alone leave no room for context are left out (a
 * small-context model cannot be asked them); callers record how many were scored.
 */
export function tokenizeChoiceItems(items: readonly ChoiceItem[], encode: (text: string) => number[], maxLength: number): TokenizedChoiceItem[] {
  const utf8 = new TextEncoder();
  const out: TokenizedChoiceItem[] = [];
  items.forEach((item, i) => {
    const choices = item.choices.map(encode);
    const longest = Math.max(...choices.map((c) => c.length));
    if (longest + 1 > maxLength) return;
    let context = encode(item.context);
    if (context.length === 0) throw new Error(`item ${i}: the context encodes to no tokens`);
    if (choices.some((c) => c.length === 0)) throw new Error(`item ${i}: a choice encodes to no tokens`);
    if (context.length + longest > maxLength) context = context.slice(context.length + longest - maxLength);
    out.push({ context, choices, gold: item.gold, choiceBytes: item.choices.map((c) => utf8.encode(c).byteLength) });
  });
  return out;
}

export interface ChoiceItemScore {
  /** Summed log-likelihood of each choice. */
  logLikelihoods: number[];
  predicted: number;
  predictedNorm: number;
}

export interface ChoiceTaskResult {
  accuracy: number;
  accuracyNorm: number;
  items: number;
  scores: ChoiceItemScore[];
}

const argmaxOf = (xs: readonly number[]) => xs.reduce((best, x, i) => (x > xs[best]! ? i : best), 0);

export async function scoreChoiceItems(scorer: WindowScorer, items: readonly TokenizedChoiceItem[], opts: SequenceScoringOptions = {}): Promise<ChoiceTaskResult> {
  if (items.length === 0) throw new Error('a multiple-choice task needs at least one item');
  const sequences: number[][] = [];
  for (const item of items) for (const c of item.choices) sequences.push([...item.context, ...c]);
  const scored = await scoreSequences(scorer, sequences, opts);
  let at = 0;
  let right = 0;
  let rightNorm = 0;
  const scores = items.map((item) => {
    const logLikelihoods = item.choices.map((c) => {
      const s = scored[at++]!;
      let ll = 0;
      // Position p predicts token p + 1: the choice's tokens sit at [context, context + c).
      for (let p = item.context.length - 1; p < item.context.length + c.length - 1; p++) ll += s.targetLogprob[p]!;
      return ll;
    });
    const predicted = argmaxOf(logLikelihoods);
    const predictedNorm = argmaxOf(logLikelihoods.map((ll, j) => ll / item.choiceBytes[j]!));
    if (predicted === item.gold) right++;
    if (predictedNorm === item.gold) rightNorm++;
    return { logLikelihoods, predicted, predictedNorm };
  });
  return { accuracy: right / items.length, accuracyNorm: rightNorm / items.length, items: items.length, scores };
}
