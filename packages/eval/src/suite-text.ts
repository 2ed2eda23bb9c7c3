/**
 * Everything of a suite that depends on the tokenizer, encoded once per model family:
 * the test stream, each token's UTF-8 byte length (bits per byte), cloze passages,
 * multiple-choice tasks and sample prompts. Built from texts, so it is pure.
 */
import { tokenByteLengths, type TextTokenizer } from '@distillery/nn';
import { BUNDLED_TASKS, bundledTask } from './bundled-tasks';
import { clozePassages, tokenizeCloze, type TokenizedCloze } from './cloze';
import { sha256Hex, type SuiteData, type SuiteSettings } from './eval-suite';
import type { ChoiceItem } from './choice-task-file';
import { tokenizeChoiceItems, type TokenizedChoiceItem } from './multiple-choice';

export interface NamedTask {
  name: string;
  items: ChoiceItem[];
}

export interface SuiteText {
  tokens: Int32Array;
  /** UTF-8 bytes of each vocabulary entry's text. */
  tokenBytes: Uint32Array;
  cloze: TokenizedCloze[];
  tasks: { name: string; items: TokenizedChoiceItem[] }[];
  prompts: number[][];
  decode(ids: ArrayLike<number>): string;
}

/** The suite's tasks: the bundled ones (built from the held-out texts) and any the user supplied. */
export function suiteTasks(settings: SuiteSettings, heldOut: readonly string[], userTasks: readonly NamedTask[] = []): NamedTask[] {
  const bundled = settings.choiceItems > 0 ? BUNDLED_TASKS.map((name) => ({ name, items: bundledTask(name, heldOut, settings.choiceItems) })) : [];
  return [...bundled, ...userTasks];
}

export function suiteData(testSplitHash: string, tasks: readonly NamedTask[], settings: SuiteSettings, heldOut: readonly string[]): SuiteData {
  const hashes: Record<string, string> = {};
  for (const t of tasks) hashes[t.name] = sha256Hex(JSON.stringify(t.items));
  if (settings.clozeItems > 0) hashes.cloze = sha256Hex(JSON.stringify(clozePassages(heldOut, { count: settings.clozeItems })));
  return { testSplit: testSplitHash, tasks: hashes };
}

export const tokenBytesOf = tokenByteLengths;

export function suiteText(
  tokenizer: TextTokenizer,
  settings: SuiteSettings,
  input: { tokens: Int32Array; heldOut: readonly string[]; tasks: readonly NamedTask[]; window: number },
): SuiteText {
  const encode = (text: string) => tokenizer.encodeOrdinary(text);
  return {
    tokens: input.tokens,
    tokenBytes: tokenBytesOf(tokenizer),
    cloze: settings.clozeItems > 0 ? tokenizeCloze(clozePassages(input.heldOut, { count: settings.clozeItems }), encode, input.window) : [],
    tasks: input.tasks.map((t) => ({ name: t.name, items: tokenizeChoiceItems(t.items, encode, input.window) })),
    prompts: settings.samples.prompts.map(encode),
    decode: (ids) => tokenizer.decode(ids),
  };
}
