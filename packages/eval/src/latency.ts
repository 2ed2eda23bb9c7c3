/**
 * Generation latency: a prompt (prefill) followed by greedy decoding one token at a time
 * with the KV cache, as a chat user experiences it. Warm-up runs come first and are not
 * timed (first runs pay for allocation and kernel selection). Reports prefill tokens/s at
 * the stated prompt length (median over runs) and decode ms/token as p50/p95 over every
 * timed step (percentiles.ts). Times are wall-clock on a shared machine: compare against
 * a baseline measured in the same run. Each decode step's process CPU time is kept too: on
 * a machine other processes load, time spent waiting for a core inflates wall time but not
 * CPU time, so ratios of CPU time between two models vary much less from run to run.
 */
import type * as ort from 'onnxruntime-node';
import { CanceledError, type Model } from '@distillery/onnx';
import { causalLm, createSession } from './causal-lm-session';
import { median, summarizeTimings, type TimingSummary } from './percentiles';

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
  /** Clock in milliseconds; default performance.now (tests inject one). */
  now?: () => number;
  /** Process CPU time in milliseconds; default from process.cpuUsage (tests inject one). */
  cpuNow?: () => number;
}

export interface LatencyResult {
  /** Median milliseconds for the whole prompt. */
  prefillMs: number;
  /** promptLength / median prefill time. */
  prefillTokensPerSecond: number;
  /** Median milliseconds per decoded token, over every timed step. */
  decodeMsPerToken: number;
  /** Decode step times over every timed step (warm-up excluded). */
  decodeMs: TimingSummary;
  decodeTokensPerSecond: number;
  /** Median process CPU milliseconds per decoded token (every thread of the process, ORT's included). */
  decodeCpuMsPerToken: number;
  promptLength: number;
  decodeTokens: number;
  repeats: number;
  warmup: number;
  /** ORT intra-op threads of the session, when this module created it. */
  threads?: number;
  /** The greedy continuation of the last run, so callers can check the cache is used correctly. */
  generated: number[];
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
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
  const now = opts.now ?? (() => performance.now());
  const cpuNow = opts.cpuNow ?? processCpuMs;
  if (!Number.isInteger(promptLength) || promptLength < 1) throw new Error(`promptLength must be a positive integer (got ${promptLength})`);
  if (!Number.isInteger(decodeTokens) || decodeTokens < 1) throw new Error(`decodeTokens must be a positive integer (got ${decodeTokens})`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats must be a positive integer (got ${repeats})`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`warmup must be a non-negative integer (got ${warmup})`);
  if (opts.prompt && opts.prompt.length !== promptLength) throw new Error(`prompt has ${opts.prompt.length} tokens, promptLength is ${promptLength}`);
  const lm = causalLm(session);
  const prefill: number[] = [];
  const perToken: number[] = [];
  const cpuPerToken: number[] = [];
  let generated: number[] = [];
  // One untimed token tells us the vocabulary, so default prompt ids stay inside it.
  const { vocab } = await lm.forward([0]);
  const prompt = opts.prompt ? Array.from(opts.prompt) : Array.from({ length: promptLength }, (_, i) => 1 + (i % Math.max(1, vocab - 1)));
  const total = warmup + repeats;
  for (let r = 0; r < total; r++) {
    if (opts.signal?.aborted) throw new CanceledError('latency measurement canceled');
    const timed = r >= warmup;
    let t0 = now();
    let out = await lm.step(prompt);
    // The clock is read the same way in warm-up and timed runs; only the keeping differs.
    const prefillTime = now() - t0;
    if (timed) prefill.push(prefillTime);
    const tokens: number[] = [];
    let next = argmaxRow(out.logits, promptLength - 1, vocab);
    for (let k = 0; k < decodeTokens; k++) {
      tokens.push(next);
      const c0 = cpuNow();
      t0 = now();
      out = await lm.step([next], out.present);
      const stepTime = now() - t0;
      const stepCpu = cpuNow() - c0;
      if (timed) {
        perToken.push(stepTime);
        cpuPerToken.push(stepCpu);
      }
      next = argmaxRow(out.logits, 0, vocab);
    }
    generated = tokens;
    opts.onProgress?.((r + 1) / total, timed ? `run ${r + 1 - warmup}/${repeats}` : 'warm-up');
  }
  const decodeMs = summarizeTimings(perToken);
  const prefillMs = median(prefill);
  return {
    prefillMs,
    prefillTokensPerSecond: (promptLength * 1000) / prefillMs,
    decodeMsPerToken: decodeMs.p50,
    decodeMs,
    decodeTokensPerSecond: 1000 / decodeMs.p50,
    decodeCpuMsPerToken: median(cpuPerToken),
    promptLength,
    decodeTokens,
    repeats,
    warmup,
    generated,
  };
}

/** Opens a session with `threads` intra-op threads, measures, releases; the result records the thread count. */
export async function measureModelLatency(model: Model, opts: LatencyOptions & { threads?: number }): Promise<LatencyResult> {
  const threads = opts.threads ?? 1;
  const session = await createSession(model, threads);
  try {
    return { ...(await measureLatency(session, opts)), threads };
  } finally {
    await session.release();
  }
}
