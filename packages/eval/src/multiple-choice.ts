/**
 * Multiple-choice tasks scored by log-likelihood, as lm-evaluation-harness scores them
 * (Gao et al. 2021): each choice's summed log p(choice tokens | context); accuracy picks
 * the largest sum, length-normalized accuracy the largest sum per UTF-8 byte of the choice
 * (the harness's acc_norm, which divides by the choice's length). A task is JSONL, one
 * `{context, choices, gold}` object per line; errors name the line and the field.
 */
import { z } from 'zod';
import { scoreSequences } from './sequence-scores';
import type { WindowScorer } from './window-scorer';

const expected = (what: string) => (issue: { input: unknown }) => (issue.input === undefined ? 'is missing' : `must be ${what}, got ${JSON.stringify(issue.input)}`);

export const ChoiceItemSchema = z
  .object({
    context: z.string({ error: expected('a string') }).min(1, 'must not be empty'),
    choices: z.array(z.string({ error: expected('a string') }).min(1, 'must not be empty'), { error: expected('an array of strings') }).min(2, 'needs at least 2 choices'),
    gold: z.number({ error: expected('a number') }).int('must be an integer').min(0, 'must be >= 0'),
  })
  .strict()
  .superRefine((item, ctx) => {
    if (item.gold >= item.choices.length) ctx.addIssue({ code: 'custom', path: ['gold'], message: `is ${item.gold} but there are only ${item.choices.length} choices (0-based)` });
  });
export type ChoiceItem = z.infer<typeof ChoiceItemSchema>;

export class TaskFileError extends Error {
  override name = 'TaskFileError';
  constructor(
    readonly task: string,
    readonly line: number,
    readonly field: string | null,
    readonly problem: string,
  ) {
    super(`task "${task}", line ${line}${field ? `, field "${field}"` : ''}: ${problem}`);
  }
}

const fieldPath = (path: readonly PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/** Parses a JSONL task; blank lines are skipped; the first problem found is thrown as a TaskFileError. */
export function parseChoiceTask(text: string, task: string, maxItems = 10_000): ChoiceItem[] {
  const items: ChoiceItem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new TaskFileError(task, line, null, `not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TaskFileError(task, line, null, 'must be a JSON object {context, choices, gold}');
    const parsed = ChoiceItemSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      if (issue.code === 'unrecognized_keys') throw new TaskFileError(task, line, issue.keys.join(', '), 'is not a task field (expected context, choices, gold)');
      throw new TaskFileError(task, line, fieldPath(issue.path) || null, issue.message);
    }
    if (items.length >= maxItems) throw new TaskFileError(task, line, null, `the task has more than ${maxItems} items`);
    items.push(parsed.data);
  });
  if (items.length === 0) throw new TaskFileError(task, 1, null, 'the task has no items');
  return items;
}

export interface TokenizedChoiceItem {
  context: number[];
  choices: number[][];
  gold: number;
  /** UTF-8 bytes of each choice's text, for length normalization. */
  choiceBytes: number[];
}

/** Encodes items; keeps the end of a context that would not fit `maxLength` with its longest choice. */
export function tokenizeChoiceItems(items: readonly ChoiceItem[], encode: (text: string) => number[], maxLength: number): TokenizedChoiceItem[] {
  const utf8 = new TextEncoder();
  return items.map((item, i) => {
    const choices = item.choices.map(encode);
    const longest = Math.max(...choices.map((c) => c.length));
    if (longest + 1 > maxLength) throw new Error(`item ${i}: a choice of ${longest} tokens does not fit the ${maxLength}-token window with any context`);
    let context = encode(item.context);
    if (context.length === 0) throw new Error(`item ${i}: the context encodes to no tokens`);
    if (choices.some((c) => c.length === 0)) throw new Error(`item ${i}: a choice encodes to no tokens`);
    if (context.length + longest > maxLength) context = context.slice(context.length + longest - maxLength);
    return { context, choices, gold: item.gold, choiceBytes: item.choices.map((c) => utf8.encode(c).byteLength) };
  });
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

export async function scoreChoiceItems(
  scorer: WindowScorer,
  items: readonly TokenizedChoiceItem[],
  opts: { batch?: number; signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<ChoiceTaskResult> {
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
