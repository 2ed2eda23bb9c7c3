/**
 * Running a Model (or ONNX bytes) in onnxruntime-node with plain typed arrays in and out.
 * Sessions default to one intra-op and one inter-op thread: Distillery runs one session
 * per worker thread on shared cores, where more ORT threads oversubscribe (ARCHITECTURE.md).
 * Sessions are cached per model object, so a helper like `gram()` pays for session
 * creation once; the cache assumes the model is not edited after its first run
 * (call `releaseGraph(model)` after editing, or to free the session early).
 */
import { ort } from './ort-runtime';
import type { DType } from './dtype';
import type { Model } from './model';
import { serializeModel } from './model-io';
import type { NumericArray } from './tensor';

export interface Feed {
  dtype: DType;
  dims: readonly number[];
  data: NumericArray;
}

export interface RunOutput {
  dtype: DType;
  dims: number[];
  data: NumericArray;
}

export interface RunOptions {
  /** Output names to fetch (default: all graph outputs). */
  outputs?: string[];
  /** Merged over the defaults { intraOpNumThreads: 1, interOpNumThreads: 1 }. */
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /**
   * Preallocated outputs: ORT writes each named output into its array (dims must match), so
   * hot loops of small runs allocate nothing; the returned output is that array.
   */
  into?: Record<string, Feed>;
}

export type GraphSource = Model | Uint8Array;

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32',
  float64: 'float64',
  float16: 'float16',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  int4: 'int4',
  uint4: 'uint4',
};

const DEFAULT_SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

// Per model object, one session per distinct options (keyed by their JSON).
const sessions = new WeakMap<GraphSource, Map<string, Promise<ort.InferenceSession>>>();

/** The cached session for this model and options, created on first use. */
export function sessionFor(source: GraphSource, sessionOptions: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  let byOptions = sessions.get(source);
  if (!byOptions) {
    byOptions = new Map();
    sessions.set(source, byOptions);
  }
  const key = JSON.stringify(sessionOptions);
  let session = byOptions.get(key);
  if (!session) {
    const bytes = source instanceof Uint8Array ? source : serializeModel(source).model;
    session = ort.InferenceSession.create(bytes, { ...DEFAULT_SESSION, ...sessionOptions });
    // A failed creation must not stay cached, or every retry would see the same error.
    session.catch(() => byOptions!.delete(key));
    byOptions.set(key, session);
  }
  return session;
}

/** Release every cached session of this model (ORT frees its copy of the weights). */
export async function releaseGraph(source: GraphSource): Promise<void> {
  const byOptions = sessions.get(source);
  if (!byOptions) return;
  sessions.delete(source);
  for (const pending of byOptions.values()) {
    const s = await pending.catch(() => null);
    await s?.release();
  }
}

function isFeed(f: Feed | ort.Tensor): f is Feed {
  return 'dtype' in f;
}

export function toOrtTensor(feed: Feed | ort.Tensor, name = 'feed'): ort.Tensor {
  if (!isFeed(feed)) return feed;
  const type = ORT_TYPES[feed.dtype];
  if (!type) throw new Error(`input "${name}": onnxruntime-node has no ${feed.dtype} tensors`);
  return new ort.Tensor(type, feed.data as ort.Tensor.DataTypeMap[typeof type], feed.dims);
}

function fromOrtTensor(t: ort.Tensor, name: string): RunOutput {
  if (t.type === 'string') throw new Error(`output "${name}": string tensors are not supported`);
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as NumericArray };
}

/** Run the graph once; outputs come back as typed arrays with their dims. */
export async function runGraph(
  source: GraphSource,
  feeds: Record<string, Feed | ort.Tensor>,
  opts: RunOptions = {},
): Promise<Record<string, RunOutput>> {
  const session = await sessionFor(source, opts.sessionOptions);
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, feed] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(feed, name);
  let fetched: ort.InferenceSession.ReturnType;
  if (opts.into) {
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of opts.outputs ?? session.outputNames) fetches[name] = null;
    for (const [name, feed] of Object.entries(opts.into)) fetches[name] = toOrtTensor(feed, name);
    fetched = await session.run(ortFeeds, fetches);
  } else fetched = opts.outputs ? await session.run(ortFeeds, opts.outputs) : await session.run(ortFeeds);
  const out: Record<string, RunOutput> = {};
  for (const [name, t] of Object.entries(fetched)) out[name] = fromOrtTensor(t, name);
  // The binding hands back its own view of a preallocated output: return the caller's array.
  for (const [name, feed] of Object.entries(opts.into ?? {})) out[name] = { dtype: feed.dtype, dims: [...feed.dims], data: feed.data };
  return out;
}
