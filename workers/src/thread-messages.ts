/**
 * What crosses the boundary between a worker process's main thread and its Piscina
 * threads. Model bytes travel as plain ArrayBuffers in the transfer list (ORT refuses
 * SharedArrayBuffer-backed tensors, and cloning a large model costs ~100 ms); the only
 * shared memory is the 4-byte cancellation flag, which a thread busy inside a technique
 * can read without yielding to its event loop.
 */
import type { ImportReport, FileFormat } from '@distillery/formats';
import type { MessagePort } from 'node:worker_threads';
import type { ModelEvaluation, NamedTask, SuiteSettings } from '@distillery/eval';
import type { SensitivityRow, SensitivitySettings, TechniqueReport } from '@distillery/techniques';
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

/** How models are evaluated: the suite's settings (packages/eval eval-suite.ts). */
export type EvaluationSettings = SuiteSettings;

export interface EvaluateTaskInput extends ThreadTaskBase {
  kind: 'evaluate';
  /**
   * `base`: the run's base model, beside the steps, on one ORT thread; records its
   * log-distribution in the cache. `final-stream`: one share of the output model's test
   * stream (perplexity, bits per byte, KL against the cached base rows) on one ORT thread;
   * the run starts one per thread and merges them. `final-rest`: the output's tasks,
   * latency, memory and samples with `settings.threads` ORT threads, then the base's
   * latency and samples in the same thread so the two are measured alike.
   */
  role: 'base' | 'final-stream' | 'final-rest';
  /** For `final-stream`: which of how many window shares. */
  share?: { index: number; of: number };
  /** tokenizer.json text, or null when the model has no tokenizer (only size figures then). */
  tokenizerJson: string | null;
  settings: EvaluationSettings;
  /** Multiple-choice tasks of the suite (bundled and uploaded). */
  tasks: NamedTask[];
  /** Folder and key of the base model's cached log-distribution. */
  baseCache: { dir: string; key: string } | null;
  /** The base model's bytes, for `final-rest` (transferred). */
  baseModel: ArrayBuffer | null;
  /** For `final-rest`: the output's per-layer sensitivity (`recipe.eval.sensitivity`). */
  sensitivity?: SensitivitySettings;
}

export interface ImportTaskInput extends ThreadTaskBase {
  kind: 'import';
  /** The uploaded tokenizer.json text to check with the model, or null. */
  tokenizerJson: string | null;
  /** Folder of a server-side import, from which external data files may be read. */
  sourceDir: string | null;
  /** A scratch copy of the upload, read by range (ONNX, GGUF, llama2.c); `model` then holds only its first bytes. */
  modelFile: string | null;
  /** Read from the upload's first bytes by the worker (which then sends only those when the folder is converted). */
  format: FileFormat;
  /** Where a conversion writes the ONNX file (in a scratch folder of the worker's, which removes it). */
  outFile: string;
}

export type ThreadTaskInput = TechniqueTaskInput | EvaluateTaskInput | ImportTaskInput;

export interface ProgressMessage {
  fraction: number;
  message?: string;
}

/** Series points reported while a task runs, so the run's curves are recorded live. */
export interface PointsMessage {
  points: SeriesPoint[];
}

export type TaskMessage = ProgressMessage | PointsMessage;

export interface TechniqueTaskOutput {
  model: ArrayBuffer;
  report: TechniqueReport;
  parameters: number;
  series: SeriesPoint[];
  /** The output's config.json (Hugging Face LlamaConfig or GPT2Config) when it is a decoder; stored on its model row. */
  decoderConfig: Record<string, unknown> | null;
  /** The calibration set the technique received: its sha256 and the bytes the run stores. */
  calibration?: { sha256: string; bytes: Uint8Array };
}

export interface ImportTaskOutput {
  parameterCount: number;
  nodeCount: number;
  opset: number;
  /** The ONNX file to store instead of the upload (the input's outFile: a conversion, or an ONNX model with its external data inlined), for the worker to stream into the store; null when the upload is stored as it is. */
  modelFile: string | null;
  /** The decoder's config.json (Hugging Face LlamaConfig) when the graph carries one; createRun judges recipes by it. */
  decoderConfig: Record<string, unknown> | null;
  /** Stored in Model.config.importReport. */
  report: ImportReport;
  /** tokenizer.json text the conversion produced or found beside the model, or null. */
  tokenizerJson: string | null;
}


export interface EvaluateTaskOutput {
  evaluation: ModelEvaluation;
  /** The base model's latency and samples (final evaluations only). */
  baseGeneration?: Omit<ModelEvaluation, 'tasks'>;
  /** Why figures are missing (no tokenizer). */
  note?: string;
  /** The output's per-layer sensitivity rows (final-rest, when asked for). */
  sensitivity?: SensitivityRow[];
}

/**
 * A task reports failures it caused itself as values: they are deterministic (the same
 * bytes and parameters fail the same way), so retrying cannot help. Anything thrown
 * instead (a thread that died, out of memory) is treated as transient by the caller.
 */
export type ThreadOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'canceled' | 'invalid'; message: string };
