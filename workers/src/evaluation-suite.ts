/**
 * The evaluation suite a run is scored with: the recipe's `eval` settings over the suite
 * defaults, the bundled multiple-choice tasks plus any uploaded task files, and the suite
 * hash over all of it (packages/eval eval-suite.ts). Built in the worker's main thread,
 * once per distinct settings, so every run and both of its evaluations share it.
 */
import { contentHash, splitBundledCorpora } from '@distillery/data';
import {
  defaultSuiteSettings,
  evaluationSuite,
  parseChoiceTask,
  suiteData,
  suiteTasks,
  TaskFileError,
  type EvaluationSuite,
  type NamedTask,
  type SuiteSettings,
} from '@distillery/eval';
import type { EvalSettings } from '@distillery/techniques';
import { PermanentRunError } from './run-errors';

export function suiteSettingsOf(raw: EvalSettings, cores: number): SuiteSettings {
  const d = defaultSuiteSettings(cores);
  return {
    ...d,
    maxTokens: raw.maxTokens,
    window: raw.window ?? null,
    stride: raw.stride ?? null,
    batch: raw.batch ?? d.batch,
    threads: raw.threads ?? d.threads,
    latency: { ...d.latency, promptLength: raw.latencyPromptLength ?? d.latency.promptLength, decodeTokens: raw.latencyDecodeTokens ?? d.latency.decodeTokens },
    clozeItems: raw.clozeItems ?? d.clozeItems,
    choiceItems: raw.choiceItems ?? d.choiceItems,
  };
}

export interface PreparedSuite {
  suite: EvaluationSuite;
  tasks: NamedTask[];
}

/** Uploaded task files by name; a malformed one fails the run with the file, line and field. */
export function parseTaskFiles(files: readonly { name: string; text: string }[]): NamedTask[] {
  return files.map((f, i) => {
    try {
      return { name: f.name, items: parseChoiceTask(f.text, f.name) };
    } catch (error) {
      if (error instanceof TaskFileError) throw new PermanentRunError(`recipe.eval.tasks[${i}]: ${error.message}`);
      throw error;
    }
  });
}

let heldOutMemo: { texts: string[]; hash: string } | undefined;
function heldOut(): { texts: string[]; hash: string } {
  if (!heldOutMemo) {
    const test = splitBundledCorpora().test;
    heldOutMemo = { texts: test.map((d) => d.text), hash: contentHash(test) };
  }
  return heldOutMemo;
}

const memo = new Map<string, PreparedSuite>();

export function prepareSuite(settings: SuiteSettings, userTasks: readonly NamedTask[]): PreparedSuite {
  const key = JSON.stringify([settings, userTasks]);
  const hit = memo.get(key);
  if (hit) return hit;
  const { texts, hash } = heldOut();
  const tasks = suiteTasks(settings, texts, userTasks);
  const prepared = { suite: evaluationSuite(settings, suiteData(hash, tasks, settings, texts)), tasks };
  if (memo.size > 16) memo.clear();
  memo.set(key, prepared);
  return prepared;
}

/**
 * Builds the held-out texts and the default suite before the worker takes jobs: it takes
 * seconds of main-thread time, which inside a run would delay its heartbeat.
 */
export function warmSuite(cores: number): void {
  prepareSuite(defaultSuiteSettings(cores), []);
}
