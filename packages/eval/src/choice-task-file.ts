/**
 * The multiple-choice task file: JSONL, one `{context, choices, gold}` object per line
 * (`gold` is the 0-based index of the right choice). Parsing reports the first problem
 * with its line and field. Imports nothing but zod, so the API validates uploads with it
 * (`@distillery/eval/choice-task-file`) without loading ONNX Runtime.
 */
import { z } from 'zod';

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
