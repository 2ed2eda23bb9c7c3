/**
 * The base model's cached log-distribution on the suite's test tokens, in a folder keyed
 * by (base model, tokenizer, suite hash): recorded while the base model is evaluated
 * anyway, or computed on demand when a run finds no entry (the base figures came from an
 * earlier run on another machine), then read by every comparison.
 */
import type { Model } from '@distillery/onnx';
import { openFileRows, recordRows, writeFileRows, type FileBaseRows, type FileRowsWriter } from './base-logprob-cache';
import { sha256Hex } from './eval-suite';
import { perplexity } from './perplexity';
import type { BatchView } from './token-scan';
import { openScorer } from './window-scorer';

/** The cache entry name for a base model under a suite. */
export function baseRowsKey(modelSha256: string, tokenizerSha256: string, suiteHash: string): string {
  return sha256Hex(`${modelSha256}\n${tokenizerSha256}\n${suiteHash}`);
}

export interface FileRecorder {
  record(view: BatchView): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A scan visitor writing the entry; the vocabulary is learned from the first batch. */
export function fileRecorder(dir: string, key: string): FileRecorder {
  let writer: FileRowsWriter | undefined;
  return {
    async record(view) {
      writer ??= await writeFileRows(dir, key, view.scores.vocab);
      await recordRows(writer)(view);
    },
    async commit() {
      if (!writer) throw new Error('nothing was recorded for the base model cache');
      await writer.commit();
    },
    abort: async () => writer?.abort(),
  };
}

export interface BaseRowsRequest {
  dir: string;
  key: string;
  model: Model;
  tokens: ArrayLike<number>;
  window: number;
  stride: number;
  batch: number;
  threads: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
}

/** The cached entry; scores the base model and writes one first if there is none. */
export async function ensureBaseRows(req: BaseRowsRequest): Promise<FileBaseRows> {
  const cached = await openFileRows(req.dir, req.key);
  if (cached) return cached;
  const recorder = fileRecorder(req.dir, req.key);
  const scorer = await openScorer(req.model, { threads: req.threads });
  try {
    await perplexity(scorer, req.tokens, { window: req.window, stride: req.stride, batch: req.batch, record: recorder.record, signal: req.signal, onProgress: req.onProgress });
    await recorder.commit();
  } catch (error) {
    await recorder.abort();
    throw error;
  } finally {
    await scorer.release();
  }
  const written = await openFileRows(req.dir, req.key);
  if (!written) throw new Error(`the base model cache entry ${req.key} could not be read back from ${req.dir}`);
  return written;
}
