/**
 * Perplexity of a causal LM on a token stream: exp of the mean negative log-likelihood
 * of each scored token given the tokens before it in its window (see sliding-windows.ts
 * for which tokens each window scores). Runs the model in ORT, one window per call,
 * and accumulates log-probabilities in float64.
 */
import type * as ort from 'onnxruntime-node';
import type { Model } from '@distillery/onnx';
import { CanceledError } from '@distillery/onnx';
import { causalLm, createSession } from './causal-lm-session';
import { logProbAt } from './log-softmax';
import { slidingWindows } from './sliding-windows';

export interface PerplexityOptions {
  /** Window length L: at most the model's context (maxPositions). */
  window: number;
  /** Tokens between window starts; default L (disjoint windows). Smaller is slower and closer to full-context perplexity. */
  stride?: number;
  onProgress?: (fraction: number, message?: string) => void;
  /** Checked between windows (never mid-run: ORT must not be interrupted). */
  signal?: AbortSignal;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per scored token, in nats. */
  nll: number;
  /** Number of scored tokens. */
  tokens: number;
  windows: number;
}

export async function perplexity(session: ort.InferenceSession, tokens: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  const windows = slidingWindows(tokens.length, opts.window, opts.stride ?? opts.window);
  const lm = causalLm(session);
  checkTokenIds(tokens, lm.vocabSize);
  let sumNll = 0;
  let scored = 0;
  for (let w = 0; w < windows.length; w++) {
    if (opts.signal?.aborted) throw new CanceledError('perplexity canceled');
    const { begin, end, scoreFrom } = windows[w]!;
    const slice = Array.from({ length: end - begin }, (_, i) => tokens[begin + i]!);
    const { logits, vocab } = await lm.forward(slice);
    // Logits at position p predict token p + 1.
    for (let t = scoreFrom; t < end; t++) sumNll -= logProbAt(logits, (t - 1 - begin) * vocab, vocab, tokens[t]!);
    scored += end - scoreFrom;
    opts.onProgress?.((w + 1) / windows.length, `window ${w + 1}/${windows.length}`);
  }
  const nll = sumNll / scored;
  return { perplexity: Math.exp(nll), nll, tokens: scored, windows: windows.length };
}

/** Fail before running anything, with a clearer message than ORT's Gather error. */
function checkTokenIds(tokens: ArrayLike<number>, vocab: number | undefined): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || (vocab !== undefined && t >= vocab)) {
      throw new Error(`token ${i} has id ${t}, outside the vocabulary (size ${vocab ?? 'unknown'})`);
    }
  }
}

/** Convenience for a Model in memory: opens a session, evaluates, releases it. */
export async function modelPerplexity(model: Model, tokens: ArrayLike<number>, opts: PerplexityOptions): Promise<PerplexityResult> {
  // Validate before paying for session creation.
  slidingWindows(tokens.length, opts.window, opts.stride ?? opts.window);
  const session = await createSession(model);
  try {
    return await perplexity(session, tokens, opts);
  } finally {
    await session.release();
  }
}
