/**
 * One pass of a model over a token stream in sliding windows (sliding-windows.ts), several
 * windows per ORT call: every scored token is visited exactly once, in stream order, with
 * its log-probability, the model's top-k ids there and, when asked, the whole
 * log-distribution or the KL from a base distribution. Perplexity, bits per byte and
 * divergence from the base are all folds over this one pass.
 */
import { CanceledError } from '@distillery/onnx';
import { slidingWindows, type Window } from './sliding-windows';
import type { BatchScores, WindowScorer } from './window-scorer';

/** Default windows per ORT call: large enough to keep ORT's kernels busy, small enough for the logits of a 32k vocabulary. */
export const DEFAULT_BATCH = 8;

export interface WindowBatch {
  windows: Window[];
  /** Every window of a batch has this many tokens. */
  length: number;
}

/** Consecutive windows, up to `batch` per group, split where the window length changes (the stream's last window may be shorter). */
export function batchWindows(windows: readonly Window[], batch: number): WindowBatch[] {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer (got ${batch})`);
  const out: WindowBatch[] = [];
  for (const w of windows) {
    const length = w.end - w.begin;
    const last = out[out.length - 1];
    if (last && last.length === length && last.windows.length < batch) last.windows.push(w);
    else out.push({ windows: [w], length });
  }
  return out;
}

/** Where one scored token sits in a batch. */
export interface ScoredSlot {
  /** Running index over every scored token of the stream (0-based). */
  scoredIndex: number;
  /** Index of the scored token in the stream. */
  token: number;
  /** Row in the batch, and the position whose logits predict the token. */
  row: number;
  position: number;
}

/** Supplies the base model's [B, T, V] log-probabilities for a batch (divergence.ts). */
export interface BaseFeed {
  forBatch(ids: Int32Array, batch: number, length: number, slots: readonly ScoredSlot[]): Promise<{ logprobs: Float32Array; top1: Int32Array }>;
}

export interface ScanOptions {
  window: number;
  /** Default: the window (disjoint windows). */
  stride?: number;
  /** Windows per ORT call; default DEFAULT_BATCH. */
  batch?: number;
  /** Fetch the whole log-distribution (to cache a base model's). */
  logprobs?: boolean;
  /** Compare with a base model (the scorer must be built withBase). */
  base?: BaseFeed;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
}

export interface BatchView {
  scores: BatchScores;
  slots: readonly ScoredSlot[];
  /** The base model's top-1 id per slot, when comparing with a base. */
  baseTop1?: Int32Array;
}

export interface ScanSummary {
  scored: number;
  windows: number;
  batches: number;
}

/**
 * Calls `visit` once per batch with every scored slot of it (in stream order), awaiting it
 * before the next ORT call so a visitor may write to disk. Cancellation is checked between
 * calls, never inside one.
 */
export async function scanTokens(
  scorer: WindowScorer,
  tokens: ArrayLike<number>,
  opts: ScanOptions,
  visit: (view: BatchView) => void | Promise<void>,
): Promise<ScanSummary> {
  const windows = slidingWindows(tokens.length, opts.window, opts.stride ?? opts.window);
  checkTokenIds(tokens, scorer.vocabSize);
  const batches = batchWindows(windows, opts.batch ?? DEFAULT_BATCH);
  let scored = 0;
  let done = 0;
  for (const { windows: group, length } of batches) {
    if (opts.signal?.aborted) throw new CanceledError('evaluation canceled');
    const B = group.length;
    const ids = new Int32Array(B * length);
    const slots: ScoredSlot[] = [];
    group.forEach((w, row) => {
      for (let i = 0; i < length; i++) ids[row * length + i] = tokens[w.begin + i]!;
      // Logits at position p predict token p + 1.
      for (let t = w.scoreFrom; t < w.end; t++) slots.push({ scoredIndex: scored++, token: t, row, position: t - 1 - w.begin });
    });
    const base = opts.base ? await opts.base.forBatch(ids, B, length, slots) : undefined;
    const scores = await scorer.score({ ids, batch: B, length, logprobs: opts.logprobs, baseLogprobs: base?.logprobs });
    await visit({ scores, slots, baseTop1: base?.top1 });
    done += B;
    opts.onProgress?.(done / windows.length, `window ${done}/${windows.length}`);
  }
  return { scored, windows: windows.length, batches: batches.length };
}

/** Fail before running anything, with a clearer message than ORT's Gather error. */
export function checkTokenIds(tokens: ArrayLike<number>, vocab: number | undefined): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || (vocab !== undefined && t >= vocab)) {
      throw new Error(`token ${i} has id ${t}, outside the vocabulary (size ${vocab ?? 'unknown'})`);
    }
  }
}
