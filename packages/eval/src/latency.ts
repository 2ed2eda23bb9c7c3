/**
 * Generation latency: a prompt (prefill) followed by greedy decoding one token at a time
 * with the KV cache, as a chat user experiences it. Reports medians over repeats after
 * warm-up runs (first runs pay for allocation and kernel selection). Times are
 * wall-clock on a shared machine: compare against a baseline measured in the same run.
 */
import type * as ort from 'onnxruntime-node';
import { CanceledError } from '@distillery/onnx';
import { causalLm } from './causal-lm-session';

export interface LatencyOptions {
  promptLength: number;
  decodeTokens: number;
  /** Untimed runs first; default 1. */
  warmup?: number;
  /** Timed runs; default 3. */
  repeats?: number;
  /** Prompt token ids; default ids 1, 2, 3, ... (wrapped to the vocabulary). Speed does not depend on them. */
  prompt?: ArrayLike<number>;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
}

export interface LatencyResult {
  /** Median milliseconds for the whole prompt. */
  prefillMs: number;
  /** Median milliseconds per decoded token, over every timed step. */
  decodeMsPerToken: number;
  decodeTokensPerSecond: number;
  promptLength: number;
  decodeTokens: number;
  repeats: number;
  /** The greedy continuation of the last run, so callers can check the cache is used correctly. */
  generated: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function argmaxRow(logits: Float32Array, row: number, vocab: number): number {
  let best = 0;
  for (let j = 1; j < vocab; j++) if (logits[row * vocab + j]! > logits[row * vocab + best]!) best = j;
  return best;
}

export async function measureLatency(session: ort.InferenceSession, opts: LatencyOptions): Promise<LatencyResult> {
  const { promptLength, decodeTokens } = opts;
  const warmup = opts.warmup ?? 1;
  const repeats = opts.repeats ?? 3;
  if (!Number.isInteger(promptLength) || promptLength < 1) throw new Error(`promptLength must be a positive integer (got ${promptLength})`);
  if (!Number.isInteger(decodeTokens) || decodeTokens < 1) throw new Error(`decodeTokens must be a positive integer (got ${decodeTokens})`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats must be a positive integer (got ${repeats})`);
  if (opts.prompt && opts.prompt.length !== promptLength) throw new Error(`prompt has ${opts.prompt.length} tokens, promptLength is ${promptLength}`);
  const lm = causalLm(session);
  const prefill: number[] = [];
  const perToken: number[] = [];
  let generated: number[] = [];
  // One untimed token tells us the vocabulary, so default prompt ids stay inside it.
  const { vocab } = await lm.forward([0]);
  const prompt = opts.prompt ? Array.from(opts.prompt) : Array.from({ length: promptLength }, (_, i) => 1 + (i % Math.max(1, vocab - 1)));
  const total = warmup + repeats;
  for (let r = 0; r < total; r++) {
    if (opts.signal?.aborted) throw new CanceledError('latency measurement canceled');
    const timed = r >= warmup;
    let t0 = performance.now();
    let out = await lm.step(prompt);
    if (timed) prefill.push(performance.now() - t0);
    const tokens: number[] = [];
    let next = argmaxRow(out.logits, promptLength - 1, vocab);
    for (let k = 0; k < decodeTokens; k++) {
      tokens.push(next);
      t0 = performance.now();
      out = await lm.step([next], out.present);
      if (timed) perToken.push(performance.now() - t0);
      next = argmaxRow(out.logits, 0, vocab);
    }
    generated = tokens;
    opts.onProgress?.((r + 1) / total, timed ? `run ${r + 1 - warmup}/${repeats}` : 'warm-up');
  }
  const decodeMsPerToken = median(perToken);
  return {
    prefillMs: median(prefill),
    decodeMsPerToken,
    decodeTokensPerSecond: 1000 / decodeMsPerToken,
    promptLength,
    decodeTokens,
    repeats,
    generated,
  };
}
