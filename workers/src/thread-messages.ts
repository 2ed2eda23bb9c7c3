/**
 * What crosses the boundary between a worker process's main thread and its Piscina
 * threads. Model bytes travel as plain ArrayBuffers in the transfer list (ORT refuses
 * SharedArrayBuffer-backed tensors, and cloning a large model costs ~100 ms); the only
 * shared memory is the 4-byte cancellation flag, which a thread busy inside a technique
 * can read without yielding to its event loop.
 */
import type { MessagePort } from 'node:worker_threads';
import type { TechniqueReport } from '@distillery/techniques';

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

export interface ImportTaskInput extends ThreadTaskBase {
  kind: 'import';
  /** The uploaded tokenizer.json text to check with the model, or null. */
  tokenizerJson: string | null;
  /** Folder of a server-side import, from which external data files may be read. */
  sourceDir: string | null;
}

export type ThreadTaskInput = TechniqueTaskInput | EvaluateTaskInput | ImportTaskInput;

export interface ProgressMessage {
  fraction: number;
  message?: string;
}

export interface TechniqueTaskOutput {
  model: ArrayBuffer;
  report: TechniqueReport;
  parameters: number;
  series: SeriesPoint[];
  /** The output's config.json (Hugging Face LlamaConfig) when it is a decoder; stored on its model row. */
  decoderConfig: Record<string, unknown> | null;
}

export interface ImportTaskOutput {
  parameterCount: number;
  nodeCount: number;
  opset: number;
  /** The model with external data inlined (to be stored instead of the upload), or null. */
  inlineModel: ArrayBuffer | null;
  /** The decoder's config.json (Hugging Face LlamaConfig) when the graph carries one; createRun judges recipes by it. */
  decoderConfig: Record<string, unknown> | null;
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
