/**
 * Runs a causal LM with the Optimum/HF interface on one token sequence from an empty
 * cache: input_ids, attention_mask (all ones), position_ids (0..n-1) and zero-length
 * past_key_values.* in, logits out. Past shapes come from the session's input metadata,
 * so models from any exporter with these names work, not only our own builder.
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';

const PAST = /^past_key_values\.\d+\.(key|value)$/;

/** The KV cache between decode steps: past_key_values.* tensors named as the model's inputs. */
export interface PastState {
  length: number;
  tensors: Record<string, ort.Tensor>;
}

export interface StepResult {
  /** Row-major [n, vocab] for the n new tokens. */
  logits: Float32Array;
  vocab: number;
  /** The cache after these tokens (present.* renamed to past_key_values.*). */
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

function pastFeed(meta: ort.InferenceSession.ValueMetadata, batch: number): ort.Tensor {
  if (!meta.isTensor || meta.type !== 'float32' || meta.shape.length !== 4) {
    throw new Error(`input "${meta.name}" must be a float32 tensor [batch, kv_heads, past, head_dim]`);
  }
  const [, heads, , headDim] = meta.shape;
  if (typeof heads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`input "${meta.name}" needs fixed kv_heads and head_dim dimensions (got [${meta.shape.join(', ')}])`);
  }
  return new ort.Tensor('float32', new Float32Array(0), [batch, heads, 0, headDim]);
}

/** Zero-length past_key_values.* feeds for `batch` sequences starting from an empty cache. */
export function emptyPast(session: ort.InferenceSession, batch = 1): Record<string, ort.Tensor> {
  return Object.fromEntries(session.inputMetadata.filter((m) => PAST.test(m.name)).map((m) => [m.name, pastFeed(m, batch)]));
}

const i64Range = (from: number, n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(from + i));

export function causalLm(session: ort.InferenceSession): CausalLmSession {
  if (!session.inputNames.includes('input_ids')) throw new Error(`model has no "input_ids" input (inputs: ${session.inputNames.join(', ')})`);
  if (!session.outputNames.includes('logits')) throw new Error(`model has no "logits" output (outputs: ${session.outputNames.join(', ')})`);
  const known = new Set(['input_ids', 'attention_mask', 'position_ids']);
  const unknown = session.inputNames.filter((n) => !known.has(n) && !PAST.test(n));
  if (unknown.length) throw new Error(`model has inputs this evaluator cannot feed: ${unknown.join(', ')}`);
  const pastNames = session.inputNames.filter((n) => PAST.test(n));
  const noPast: PastState = {
    length: 0,
    tensors: emptyPast(session),
  };
  const presentName = (past: string) => past.replace(/^past_key_values\./, 'present.');
  for (const p of pastNames) {
    if (!session.outputNames.includes(presentName(p))) throw new Error(`model has input "${p}" but no output "${presentName(p)}"`);
  }
  const wants = (n: string) => session.inputNames.includes(n);

  function feedsFor(tokens: ArrayLike<number>, past: PastState): Record<string, ort.Tensor> {
    const n = tokens.length;
    const ids = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ids[i] = BigInt(tokens[i]!);
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [1, n]), ...past.tensors };
    if (wants('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(past.length + n).fill(1n), [1, past.length + n]);
    if (wants('position_ids')) feeds.position_ids = new ort.Tensor('int64', i64Range(past.length, n), [1, n]);
    return feeds;
  }

  async function run(tokens: ArrayLike<number>, past: PastState, fetchPresent: boolean): Promise<StepResult> {
    const n = tokens.length;
    const feeds = feedsFor(tokens, past);
    // Without a cache to carry on, fetch only the logits: present.* would be copied out for nothing.
    const fetches = fetchPresent ? ['logits', ...pastNames.map(presentName)] : ['logits'];
    const out = await session.run(feeds, fetches);
    const logits = out.logits!;
    const dims = logits.dims;
    if (logits.type !== 'float32' || dims.length !== 3 || dims[0] !== 1 || dims[1] !== n) {
      throw new Error(`logits must be float32 [1, ${n}, vocab], got ${logits.type} [${dims.join(', ')}]`);
    }
    const present: PastState = {
      length: past.length + n,
      tensors: fetchPresent ? Object.fromEntries(pastNames.map((p) => [p, out[presentName(p)]!])) : {},
    };
    return { logits: logits.data as Float32Array, vocab: dims[2]!, present };
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
