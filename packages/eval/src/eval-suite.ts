/**
 * Named, versioned evaluation suites. A run records the suite it was scored with: its id,
 * version, settings, the content hashes of its data (test split, task items, prompts)
 * and the ONNX Runtime version, hashed together, so only figures with equal suite hashes
 * are compared, and a base model's cached figures are reused only under the same hash.
 * Bump EVAL_SUITE_VERSION when the meaning of a figure changes.
 */
import { createHash } from 'node:crypto';
import { ort } from '@distillery/onnx';
import type { SampleSettings } from './samples';

export const EVAL_SUITE_ID = 'distillery-standard';
export const EVAL_SUITE_VERSION = 1;

export interface LatencySettings {
  promptLength: number;
  decodeTokens: number;
  warmup: number;
  repeats: number;
}

export interface SuiteSettings {
  /** Test-split tokens scored for perplexity, bits per byte and divergence. */
  maxTokens: number;
  /** null: the model's context. */
  window: number | null;
  /** null: the window (disjoint windows). */
  stride: number | null;
  /** Windows per ORT call. */
  batch: number;
  /** ORT intra-op threads for the evaluation of the output model (base evaluations beside a running step use 1). */
  threads: number;
  latency: LatencySettings;
  /** Cloze passages from the test split (0: skip). */
  clozeItems: number;
  /** Items per bundled multiple-choice task (0: skip). */
  choiceItems: number;
  samples: SampleSettings & { prompts: string[] };
}

export const DEFAULT_SAMPLE_PROMPTS = ['It was a', 'The whale', 'Fellow citizens, the state of the Union'];

export function defaultSuiteSettings(threads: number): SuiteSettings {
  return {
    maxTokens: 4096,
    window: null,
    stride: null,
    batch: 8,
    threads,
    latency: { promptLength: 64, decodeTokens: 16, warmup: 1, repeats: 3 },
    clozeItems: 40,
    choiceItems: 40,
    samples: { prompts: DEFAULT_SAMPLE_PROMPTS, maxNewTokens: 24, temperature: 0.8, topK: 40, seed: 1 },
  };
}

export interface SuiteData {
  /** Content hash of the held-out documents (packages/data contentHash). */
  testSplit: string;
  /** Task name -> sha256 of its items (bundled tasks as generated, user tasks as uploaded). */
  tasks: Record<string, string>;
}

export interface EvaluationSuite {
  id: string;
  version: number;
  settings: SuiteSettings;
  data: SuiteData;
  ortVersion: string;
  /** sha256 over everything above, canonical JSON. */
  hash: string;
}

/** JSON with object keys sorted, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sha256Hex = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');

export function evaluationSuite(settings: SuiteSettings, data: SuiteData): EvaluationSuite {
  const body = { id: EVAL_SUITE_ID, version: EVAL_SUITE_VERSION, settings, data, ortVersion: ort.env.versions.common ?? 'unknown' };
  return { ...body, hash: sha256Hex(canonicalJson(body)) };
}
