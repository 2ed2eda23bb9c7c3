/**
 * Runs a causal LM on one token sequence, from an empty cache or after a previous step:
 * input_ids, attention_mask (all ones), position_ids and the cache in, logits out. How each
 * is named and typed comes from the session (decoder-io.ts), so Optimum exports with or
 * without a cache and older ORT GPT-2 exports work, not only our own builder.
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import { decoderIo, emptyPastFeeds, float32Logits, tokenFeeds } from './decoder-io';

/** The KV cache between decode steps: tensors named as the model's cache inputs. */
export interface PastState {
  length: number;
  tensors: Record<string, ort.Tensor>;
}

export interface StepResult {
  /** Row-major [n, vocab] for the n new tokens. */
  logits: Float32Array;
  vocab: number;
  /** The cache after these tokens (the present outputs, keyed by the cache inputs they feed). */
  present: PastState;
}

export interface CausalLmSession {
  session: ort.InferenceSession;
  /** From the logits output's declared shape; undefined when that dimension is symbolic. */
  vocabSize: number | undefined;
  /** Logits for every position of one sequence from an empty cache, row-major [n, vocab]. */
  forward(tokens: ArrayLike<number>): Promise<{ logits: Float32Array; vocab: number }>;
  /** Run n new tokens after `past` (default: empty cache), returning the grown cache too. */
  step(tokens: ArrayLike<number>, past?: PastState): Promise<StepResult>;
  /** One sequence from an empty cache, fetching the named outputs (e.g. intermediate values exposed for calibration). */
  outputs(tokens: ArrayLike<number>, names: string[]): Promise<Record<string, ort.Tensor>>;
}

/**
 * One ORT thread per session by default: workers run one session per core (ARCHITECTURE.md).
 * A caller that has the machine to itself passes more.
 */
export async function createSession(model: Model, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
}

/** Zero-length cache feeds for `batch` sequences starting from an empty cache. */
export function emptyPast(session: ort.InferenceSession, batch = 1): Record<string, ort.Tensor> {
  return emptyPastFeeds(decoderIo(session), batch);
}

export function causalLm(session: ort.InferenceSession): CausalLmSession {
  const io = decoderIo(session);
  const noPast: PastState = { length: 0, tensors: emptyPastFeeds(io, 1) };
  const feedsFor = (tokens: ArrayLike<number>, past: PastState) => ({ ...tokenFeeds(io, tokens, 1, tokens.length, past.length), ...past.tensors });

  async function run(tokens: ArrayLike<number>, past: PastState, fetchPresent: boolean): Promise<StepResult> {
    const n = tokens.length;
    const feeds = feedsFor(tokens, past);
    // Without a cache to carry on, fetch only the logits: present.* would be copied out for nothing.
    const fetches = fetchPresent ? ['logits', ...io.past.map((slot) => slot.output)] : ['logits'];
    const out = await session.run(feeds, fetches);
    const logits = out.logits!;
    const dims = logits.dims;
    if (dims.length !== 3 || dims[0] !== 1 || dims[1] !== n) throw new Error(`logits must be [1, ${n}, vocab], got ${logits.type} [${dims.join(', ')}]`);
    const present: PastState = {
      length: past.length + n,
      tensors: fetchPresent ? Object.fromEntries(io.past.map((slot) => [slot.input, out[slot.output]!])) : {},
    };
    return { logits: float32Logits(logits), vocab: dims[2]!, present };
  }

  const logitsMeta = session.outputMetadata.find((m) => m.name === 'logits');
  const vocabDim = logitsMeta?.isTensor ? logitsMeta.shape[2] : undefined;
  return {
    session,
    vocabSize: typeof vocabDim === 'number' ? vocabDim : undefined,
    forward: async (tokens) => run(tokens, noPast, false),
    step: (tokens, past) => run(tokens, past ?? noPast, true),
    outputs: (tokens, names) => session.run(feedsFor(tokens, noPast), names),
  };
}
