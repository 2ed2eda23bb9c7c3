/**
 * Perplexity of a causal LM on a token stream: exp of the mean negative log-likelihood
 * of each scored token given the tokens before it in its window (sliding-windows.ts says
 * which tokens each window scores), with several windows per ORT call (token-scan.ts).
 * Bits per byte divides the same total log-likelihood, in bits, by the UTF-8 bytes of the
 * scored tokens, so models with different tokenizers compare on the same text (Gao et
 * al. 2020, "The Pile", sec. 5.1). The same pass can compare with the base model
 * (divergence.ts) and hand each batch to a recorder (base-logprob-cache.ts).
 */
import type { Model } from '@distillery/onnx';
import { DivergenceAccumulator, type DivergenceResult } from './divergence-accumulator';
import { slidingWindows } from './sliding-windows';
import { DEFAULT_BATCH, scanTokens, type BaseFeed, type BatchView } from './token-scan';
import { openScorer, type WindowScorer } from './window-scorer';

export interface PerplexityOptions {
  /** Window length L: at most the model's context (maxPositions). */
  window: number;
  /** Tokens between window starts; default L (disjoint windows). Smaller is slower and closer to full-context perplexity. */
  stride?: number;
  /** Windows per ORT call (default DEFAULT_BATCH). */
  batch?: number;
  /** UTF-8 byte length of each token id's text; enables bits per byte. */
  tokenBytes?: ArrayLike<number>;
  /** Compare with the base model on the same tokens; the scorer must be opened withBase. */
  base?: BaseFeed;
  /** Sees every batch with the whole log-distribution (to cache a base model's). */
  record?: (view: BatchView) => void | Promise<void>;
  onProgress?: (fraction: number, message?: string) => void;
  /** Checked between ORT calls (never mid-run: ORT must not be interrupted). */
  signal?: AbortSignal;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  nll: number;
  /** Number of scored tokens. */
  tokens: number;
  windows: number;
  window: number;
  stride: number;
  batch: number;
  /** UTF-8 bytes of the scored tokens and bits per byte, when tokenBytes was given. */
  bytes?: number;
  bitsPerByte?: number;
  /** Against the base model, when `base` was given. */
  divergence?: DivergenceResult;
}

export async function perplexity(scorer: WindowScorer, tokens: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  const stride = opts.stride ?? opts.window;
  const batch = opts.batch ?? DEFAULT_BATCH;
  const byteLen = opts.tokenBytes;
  const divergence = opts.base ? new DivergenceAccumulator() : undefined;
  let sumNll = 0;
  let bytes = 0;
  const summary = await scanTokens(scorer, tokens, { ...opts, stride, batch, logprobs: opts.record !== undefined }, async (view) => {
    const { scores, slots } = view;
    const T = scores.length;
    for (const s of slots) {
      sumNll -= scores.targetLogprob[s.row * T + s.position]!;
      if (byteLen) bytes += byteLen[tokens[s.token]!]!;
    }
    if (divergence) divergence.add(view);
    if (opts.record) await opts.record(view);
  });
  const nll = sumNll / summary.scored;
  const result: PerplexityResult = { perplexity: Math.exp(nll), nll, tokens: summary.scored, windows: summary.windows, window: opts.window, stride, batch };
  if (byteLen) {
    result.bytes = bytes;
    result.bitsPerByte = sumNll / Math.LN2 / bytes;
  }
  if (divergence) result.divergence = divergence.result();
  return result;
}

/** Convenience for a Model in memory: opens a scorer, evaluates, releases it. */
export async function modelPerplexity(model: Model, tokens: ArrayLike<number>, opts: PerplexityOptions & { threads?: number }): Promise<PerplexityResult> {
  // Validate before paying for session creation.
  slidingWindows(tokens.length, opts.window, opts.stride ?? opts.window);
  const scorer = await openScorer(model, { threads: opts.threads });
  try {
    return await perplexity(scorer, tokens, opts);
  } finally {
    await scorer.release();
  }
}
