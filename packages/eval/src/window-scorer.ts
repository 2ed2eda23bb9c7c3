/**
 * Runs the scoring graph (scoring-graph.ts) on a batch of equal-length token windows in
 * one ORT call: B windows of T tokens in, per-position log p(next token), top-k ids and,
 * on request, the whole log-distribution or the KL from a base distribution out.
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import { emptyPast } from './causal-lm-session';
import { SCORE, scoringGraph } from './scoring-graph';

export interface ScorerOptions {
  /** ORT intra-op threads; default 1 (one session per core, as the worker pool runs them). */
  threads?: number;
  /** Build the KL input and output (needed to compare with a base model). */
  withBase?: boolean;
}

export interface BatchRequest {
  /** B windows, all of length T, concatenated row-major [B, T]. */
  ids: Int32Array;
  batch: number;
  length: number;
  /** Also return the [B, T, V] log-probabilities. */
  logprobs?: boolean;
  /** [B, T, V] base log-probabilities, to get the KL (a scorer opened withBase). */
  baseLogprobs?: Float32Array;
}

export interface BatchScores {
  batch: number;
  length: number;
  vocab: number;
  /** [B, T]: log p(ids[b, t + 1]) at position t; the last position's entry is meaningless. */
  targetLogprob: Float32Array;
  /** [B, T, k] ids of the k largest logits, largest first. */
  topIds: BigInt64Array;
  k: number;
  logprobs?: Float32Array;
  /** [B, T] KL(base || model) per position. */
  kl?: Float32Array;
}

export interface WindowScorer {
  readonly threads: number;
  readonly withBase: boolean;
  /** From the logits output's declared shape; undefined when that dimension is symbolic. */
  readonly vocabSize: number | undefined;
  score(req: BatchRequest): Promise<BatchScores>;
  release(): Promise<void>;
}

const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids', SCORE.targets, SCORE.baseLogprobs]);

export async function openScorer(model: Model, opts: ScorerOptions = {}): Promise<WindowScorer> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
  const withBase = opts.withBase ?? false;
  const scoring = scoringGraph(model, { withBase });
  const session = await ort.InferenceSession.create(serializeModel(scoring).model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  try {
    const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n) && !/^past_key_values\.\d+\.(key|value)$/.test(n));
    if (unknown.length) throw new Error(`model has inputs this evaluator cannot feed: ${unknown.join(', ')}`);
    if (!session.inputNames.includes('input_ids')) throw new Error(`model has no "input_ids" input (inputs: ${session.inputNames.join(', ')})`);
  } catch (error) {
    await session.release();
    throw error;
  }
  const wants = (n: string) => session.inputNames.includes(n);
  const meta = session.outputMetadata.find((m) => m.name === SCORE.logprobs);
  const vocabDim = meta?.isTensor ? meta.shape[2] : undefined;

  async function score(req: BatchRequest): Promise<BatchScores> {
    const { batch: B, length: T, ids } = req;
    if (ids.length !== B * T) throw new Error(`ids has ${ids.length} entries, expected batch ${B} x length ${T}`);
    if (req.baseLogprobs && !withBase) throw new Error('this scorer was opened without withBase: it cannot compare with a base model');
    const inputIds = new BigInt64Array(B * T);
    const targets = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        inputIds[i] = BigInt(ids[i]!);
        // The last position predicts a token outside the window: any valid id will do.
        targets[i] = t + 1 < T ? BigInt(ids[i + 1]!) : 0n;
        positions[i] = BigInt(t);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [B, T]),
      [SCORE.targets]: new ort.Tensor('int64', targets, [B, T]),
      ...emptyPast(session, B),
    };
    if (wants('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]);
    if (wants('position_ids')) feeds.position_ids = new ort.Tensor('int64', positions, [B, T]);
    const fetches: string[] = [SCORE.targetLogprob, SCORE.topIds];
    if (req.logprobs) fetches.push(SCORE.logprobs);
    if (req.baseLogprobs) {
      const base = req.baseLogprobs;
      const V = base.length / (B * T);
      if (!Number.isInteger(V) || (vocabDim !== undefined && typeof vocabDim === 'number' && V !== vocabDim)) {
        throw new Error(`baseLogprobs has ${base.length} entries, not batch ${B} x length ${T} x vocab ${vocabDim ?? '?'}`);
      }
      feeds[SCORE.baseLogprobs] = new ort.Tensor('float32', base, [B, T, V]);
      fetches.push(SCORE.kl);
    } else if (withBase) {
      // Unused without eval_kl among the fetches, but every graph input must be fed.
      feeds[SCORE.baseLogprobs] = new ort.Tensor('float32', new Float32Array(1), [1, 1, 1]);
    }
    const out = await session.run(feeds, fetches);
    const top = out[SCORE.topIds]!;
    const k = top.dims[2]!;
    const lp = out[SCORE.logprobs];
    return {
      batch: B,
      length: T,
      vocab: lp ? lp.dims[2]! : (typeof vocabDim === 'number' ? vocabDim : (req.baseLogprobs?.length ?? 0) / (B * T)),
      targetLogprob: out[SCORE.targetLogprob]!.data as Float32Array,
      topIds: top.data as BigInt64Array,
      k,
      logprobs: lp?.data as Float32Array | undefined,
      kl: req.baseLogprobs ? (out[SCORE.kl]!.data as Float32Array) : undefined,
    };
  }

  return {
    threads,
    withBase,
    vocabSize: typeof vocabDim === 'number' ? vocabDim : undefined,
    score,
    release: () => session.release(),
  };
}
