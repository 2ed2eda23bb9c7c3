/**
 * What crosses the boundary between a worker process's main thread and its Piscina
 * threads. Model bytes travel as plain ArrayBuffers in the transfer list (ORT refuses
 * SharedArrayBuffer-backed tensors, and cloning a large model costs ~100 ms); the only
 * shared memory is the 4-byte cancellation flag, which a thread busy inside a technique
 * can read without yielding to its event loop.
 */
import type { MessagePort } from 'node:worker_threads';
import type { TechniqueReport } from '@distillery/techniques';
import type { CalibrationTaskInput } from './calibration-set';

/** Index 0 of the Int32Array over `cancel`: 0 = keep going, 1 = stop at the next safe point. */
export const CANCEL_REQUESTED = 1;

export interface ThreadTaskBase {
  /** Serialized ONNX model with its weights inline; transferred, so the sender loses it. */
  model: ArrayBuffer;
  /** Receives ProgressMessage values while the task runs. */
  progress: MessagePort;
  /** SharedArrayBuffer of 4 bytes, read with Atomics (see CANCEL_REQUESTED). */
  cancel: SharedArrayBuffer;
}

export interface TechniqueTaskInput extends ThreadTaskBase {
  kind: 'technique';
  techniqueId: string;
  /** Already validated against the technique's schema by the caller; validated again in the thread. */
  params: Record<string, unknown>;
  /** The base model's tokenizer.json, from which training techniques get their tokens; null when none. */
  tokenizerJson: string | null;
  /** The recipe's calibration set, sampled in the thread and handed to the technique. */
  calibration?: CalibrationTaskInput;
}

/** One point of a metric series a technique reported (a loss curve), step 1-based. */
export interface SeriesPoint {
  name: string;
  step: number;
  value: number;
}

export interface EvaluationSettings {
  /** At most this many tokens of the bundled test split are scored. */
  maxTokens: number;
  /** Window length; null = the model's context (decoder metadata), else a default. */
  window: number | null;
  /** Tokens between window starts; null = the window (disjoint windows). */
  stride: number | null;
}

export interface EvaluateTaskInput extends ThreadTaskBase {
  kind: 'evaluate';
  /** tokenizer.json text, or null when the model has no tokenizer (perplexity is then skipped). */
  tokenizerJson: string | null;
  settings: EvaluationSettings;
}

export type ThreadTaskInput = TechniqueTaskInput | EvaluateTaskInput;

export interface ProgressMessage {
  fraction: number;
  message?: string;
}

export interface TechniqueTaskOutput {
  model: ArrayBuffer;
  report: TechniqueReport;
  parameters: number;
  series: SeriesPoint[];
  /** The calibration set the technique received: its sha256 and the bytes the run stores. */
  calibration?: { sha256: string; bytes: Uint8Array };
}

export interface PerplexityFigures {
  perplexity: number;
  nll: number;
  /** Scored tokens. */
  tokens: number;
  windows: number;
  window: number;
  stride: number;
}

export interface EvaluateTaskOutput {
  bytes: number;
  parameters: number;
  /** null when skipped; `note` says why. */
  perplexity: PerplexityFigures | null;
  note?: string;
}

/**
 * A task reports failures it caused itself as values: they are deterministic (the same
 * bytes and parameters fail the same way), so retrying cannot help. Anything thrown
 * instead (a thread that died, out of memory) is treated as transient by the caller.
 */
export type ThreadOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'canceled' | 'invalid'; message: string };
