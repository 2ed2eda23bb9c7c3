/**
 * How to feed a causal LM, read from its session: exporters name and type the same inputs
 * differently. Optimum: `input_ids` int64, `attention_mask`, `position_ids`,
 * `past_key_values.{i}.key|value` [batch, kv_heads, past, head_dim] -> `present.{i}.key|value`,
 * or no cache inputs at all. Older ONNX Runtime GPT-2 exports: int32 ids, a float mask and
 * `past_{i}` [2, batch, heads, past, head_dim] (key and value stacked) -> `present_{i}`. The
 * cache may be float16. Anything else is refused naming the inputs it cannot feed.
 */
import { float16ArrayToFloat32, ort } from '@distillery/onnx';

export type IndexType = 'int64' | 'int32';
export type MaskType = IndexType | 'float32';

export interface PastSlot {
  readonly input: string;
  readonly output: string;
  /** `key-value`: one tensor [b, heads, T, hd] per key or value; `stacked`: [2, b, heads, T, hd]. */
  readonly layout: 'key-value' | 'stacked';
  readonly type: 'float32' | 'float16';
  readonly heads: number;
  readonly headDim: number;
}

export interface DecoderIo {
  readonly ids: IndexType;
  readonly attentionMask: MaskType | null;
  readonly positionIds: IndexType | null;
  readonly past: readonly PastSlot[];
}

const OPTIMUM_PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const STACKED_PAST = /^past_(\d+)$/;

function typeOf(session: ort.InferenceSession, name: string, allowed: readonly string[]): string {
  const meta = session.inputMetadata.find((m) => m.name === name);
  const type = meta?.isTensor ? meta.type : 'not a tensor';
  if (!allowed.includes(type)) throw new Error(`input "${name}" is ${type}; this evaluator feeds ${allowed.join(' or ')}`);
  return type;
}

function pastSlot(session: ort.InferenceSession, name: string, checkOutputs: boolean): PastSlot {
  const meta = session.inputMetadata.find((m) => m.name === name);
  if (!meta?.isTensor || (meta.type !== 'float32' && meta.type !== 'float16')) throw new Error(`cache input "${name}" must be a float32 or float16 tensor`);
  const stacked = STACKED_PAST.exec(name);
  const layout = stacked ? 'stacked' : 'key-value';
  const shape = meta.shape;
  const [heads, headDim] = layout === 'stacked' ? [shape[2], shape[4]] : [shape[1], shape[3]];
  const rank = layout === 'stacked' ? 5 : 4;
  if (shape.length !== rank || typeof heads !== 'number' || typeof headDim !== 'number') {
    throw new Error(`cache input "${name}" must be [${layout === 'stacked' ? '2, ' : ''}batch, heads, past, head_dim] with fixed heads and head_dim (got [${shape.join(', ')}])`);
  }
  const output = stacked ? `present_${stacked[1]}` : name.replace(/^past_key_values\./, 'present.');
  if (checkOutputs && !session.outputNames.includes(output)) throw new Error(`model has cache input "${name}" but no output "${output}"`);
  return { input: name, output, layout, type: meta.type, heads, headDim };
}

/**
 * The session's interface; `ignore` names inputs the caller feeds itself (e.g. a scoring head's).
 * `checkOutputs: false` accepts a graph whose outputs the caller chose instead of logits and cache
 * (a calibration probe cut after the values it reads).
 */
export function decoderIo(session: ort.InferenceSession, ignore: ReadonlySet<string> = new Set(), opts: { checkOutputs?: boolean } = {}): DecoderIo {
  const checkOutputs = opts.checkOutputs ?? true;
  if (!session.inputNames.includes('input_ids')) throw new Error(`model has no "input_ids" input (inputs: ${session.inputNames.join(', ')})`);
  if (checkOutputs && !session.outputNames.includes('logits')) throw new Error(`model has no "logits" output (outputs: ${session.outputNames.join(', ')})`);
  const known = new Set(['input_ids', 'attention_mask', 'position_ids', ...ignore]);
  const isPast = (n: string) => OPTIMUM_PAST.test(n) || STACKED_PAST.test(n);
  const unknown = session.inputNames.filter((n) => !known.has(n) && !isPast(n));
  if (unknown.length) throw new Error(`model has inputs this evaluator cannot feed: ${unknown.join(', ')}`);
  const has = (n: string) => session.inputNames.includes(n);
  return {
    ids: typeOf(session, 'input_ids', ['int64', 'int32']) as IndexType,
    attentionMask: has('attention_mask') ? (typeOf(session, 'attention_mask', ['int64', 'int32', 'float32']) as MaskType) : null,
    positionIds: has('position_ids') ? (typeOf(session, 'position_ids', ['int64', 'int32']) as IndexType) : null,
    past: session.inputNames.filter(isPast).map((n) => pastSlot(session, n, checkOutputs)),
  };
}

function indexTensor(type: MaskType, values: ArrayLike<number>, dims: number[]): ort.Tensor {
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: values.length }, (_, i) => BigInt(values[i]!)), dims);
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

/** Zero-length cache feeds for `batch` sequences. */
export function emptyPastFeeds(io: DecoderIo, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const slot of io.past) {
    const dims = slot.layout === 'stacked' ? [2, batch, slot.heads, 0, slot.headDim] : [batch, slot.heads, 0, slot.headDim];
    feeds[slot.input] = slot.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  }
  return feeds;
}

/**
 * input_ids [batch, length] (row-major `ids`), an all-ones mask over past + length, and
 * positions past..past+length-1 for each row; the cache feeds are the caller's.
 */
export function tokenFeeds(io: DecoderIo, ids: ArrayLike<number>, batch: number, length: number, pastLength = 0): Record<string, ort.Tensor> {
  if (ids.length !== batch * length) throw new Error(`ids has ${ids.length} entries, expected batch ${batch} x length ${length}`);
  const feeds: Record<string, ort.Tensor> = { input_ids: indexTensor(io.ids, ids, [batch, length]) };
  if (io.attentionMask !== null) feeds.attention_mask = indexTensor(io.attentionMask, new Array<number>(batch * (pastLength + length)).fill(1), [batch, pastLength + length]);
  if (io.positionIds !== null) feeds.position_ids = indexTensor(io.positionIds, Array.from({ length: batch * length }, (_, i) => pastLength + (i % length)), [batch, length]);
  return feeds;
}

/** Logits as float32, whatever the model emits (float16 exports emit half precision). */
export function float32Logits(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return float16ArrayToFloat32(t.data as Uint16Array);
  throw new Error(`logits are ${t.type}; expected float32 or float16`);
}

