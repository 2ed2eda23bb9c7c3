/**
 * Runs the scoring graph (scoring-graph.ts) on a batch of equal-length token windows in
 * one ORT call: B windows of T tokens in, per-position log p(next token), top-k ids and,
 * on request, the whole log-distribution or the KL from a base distribution out.
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import { decoderIo, emptyPastFeeds, tokenFeeds, type DecoderIo } from './decoder-io';
import { SCORE, scoringGraph } from './scoring-graph';

export interface ScorerOptions {
  /** ORT intra-op threads; default 1 (one session per core, as the worker pool runs them). */
  threads?: number;
  /** Build the KL input and output (needed to compare with a base model). */
  withBase?: boolean;
  /** Graph inputs the caller feeds on every call (e.g. a probed layer's weight), read when each batch runs. */
  inputs?: ScorerInputs;
}

export interface ScorerInputs {
  readonly names: readonly string[];
  feeds(): Record<string, ort.Tensor>;
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


export async function openScorer(model: Model, opts: ScorerOptions = {}): Promise<WindowScorer> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
  const withBase = opts.withBase ?? false;
  const scoring = scoringGraph(model, { withBase });
  const session = await ort.InferenceSession.create(serializeModel(scoring).model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  let io: DecoderIo;
  try {
    io = decoderIo(session, new Set([SCORE.targets, SCORE.baseLogprobs, ...(opts.inputs?.names ?? [])]));
  } catch (error) {
    await session.release();
    throw error;
  }
  const meta = session.outputMetadata.find((m) => m.name === SCORE.logprobs);
  const vocabDim = meta?.isTensor ? meta.shape[2] : undefined;

  async function score(req: BatchRequest): Promise<BatchScores> {
    const { batch: B, length: T, ids } = req;
    if (ids.length !== B * T) throw new Error(`ids has ${ids.length} entries, expected batch ${B} x length ${T}`);
    if (req.baseLogprobs && !withBase) throw new Error('this scorer was opened without withBase: it cannot compare with a base model');
    const targets = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        // The last position predicts a token outside the window: any valid id will do.
        targets[i] = t + 1 < T ? BigInt(ids[i + 1]!) : 0n;
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      ...tokenFeeds(io, ids, B, T),
      [SCORE.targets]: new ort.Tensor('int64', targets, [B, T]),
      ...emptyPastFeeds(io, B),
      ...opts.inputs?.feeds(),
    };
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
