/**
 * A model whose large initializers are made only when written: a converter hands each
 * weight over as a TensorSource (read, convert, return bytes), and writeDeferredModel
 * writes the ONNX file one initializer at a time, so only one converted tensor is in
 * memory at once instead of the whole model and its serialization. The file is byte for
 * byte what writeModel writes for the materialized model (proto-codec's ModelFrame).
 */
import { open, rm } from 'node:fs/promises';
import { byteLength, type DType } from './dtype';
import type { Model, Tensor } from './model';
import { encodeModelFrame, encodeTensorHead, GRAPH_INITIALIZER_TAG, MODEL_GRAPH_TAG, TENSOR_RAW_DATA_TAG } from './proto-codec';

export interface TensorSource {
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** The tensor's raw_data bytes (byteLength(dtype, dims) of them), read and converted when called. */
  read(): Promise<Uint8Array>;
}

/**
 * `model` holds a placeholder (no bytes) for each initializer named in `sources`, in the
 * place its bytes go; every other initializer is complete.
 */
export interface DeferredModel {
  readonly model: Model;
  readonly sources: ReadonlyMap<string, TensorSource>;
}

const NO_BYTES = new Uint8Array(0);

/** The initializer that stands for a source's tensor until it is written. */
export function placeholderTensor(name: string, source: TensorSource): Tensor {
  return { name, dtype: source.dtype, dims: [...source.dims], raw: NO_BYTES };
}

/** A complete model needs no sources. */
export function completeModel(model: Model): DeferredModel {
  return { model, sources: new Map() };
}

function sourceOf(d: DeferredModel, t: Tensor): TensorSource | undefined {
  const source = d.sources.get(t.name);
  if (source === undefined) return undefined;
  if (t.raw.byteLength !== 0 || source.dtype !== t.dtype || source.dims.length !== t.dims.length || source.dims.some((n, i) => n !== t.dims[i])) {
    throw new Error(`initializer "${t.name}" is not the placeholder of its source (${source.dtype}[${source.dims.join(',')}])`);
  }
  return source;
}

async function readSource(name: string, source: TensorSource): Promise<Uint8Array> {
  const raw = await source.read();
  const expected = byteLength(source.dtype, [...source.dims]);
  if (raw.byteLength !== expected) throw new Error(`tensor "${name}": its source gave ${raw.byteLength} bytes for ${source.dtype}[${source.dims.join(',')}] (expected ${expected})`);
  return raw;
}

/** Reads every source: the whole model in memory, for callers that run or edit it. */
export async function materializeModel(d: DeferredModel): Promise<Model> {
  const initializers: Tensor[] = [];
  for (const t of d.model.graph.initializers) {
    const source = sourceOf(d, t);
    initializers.push(source === undefined ? t : { ...t, raw: await readSource(t.name, source) });
  }
  return { ...d.model, graph: { ...d.model.graph, initializers } };
}

function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** Tag and base-128 length prefix of a length-delimited field; division, not bit shifts, since lengths pass 2^31. */
function fieldPrefix(tag: number, length: number): Uint8Array {
  const out = new Uint8Array(1 + varintLength(length));
  out[0] = tag;
  let i = 1;
  while (length >= 128) {
    out[i++] = (length % 128) | 128;
    length = Math.floor(length / 128);
  }
  out[i] = length;
  return out;
}

/** Small pieces are gathered into one write; tensor bytes go straight to the file. */
const GATHER_BYTES = 1 << 20;

/**
 * Writes the model to `file` one initializer at a time, each source read just before its
 * bytes are written and dropped after; returns the file's size. A failed write (a source
 * refusing its tensor, say) leaves no file behind.
 */
export async function writeDeferredModel(d: DeferredModel, file: string, onTensor?: (done: number, total: number, name: string) => void): Promise<number> {
  const { model } = d;
  const frame = encodeModelFrame(model);
  const inits = model.graph.initializers.map((t) => {
    const source = sourceOf(d, t);
    const head = encodeTensorHead(t.name, t.dtype, t.dims);
    const rawLength = source === undefined ? t.raw.byteLength : byteLength(source.dtype, [...source.dims]);
    if (source === undefined && rawLength !== byteLength(t.dtype, t.dims)) {
      throw new Error(`tensor "${t.name}": ${rawLength} bytes of data for ${t.dtype}[${t.dims.join(',')}] (expected ${byteLength(t.dtype, t.dims)})`);
    }
    const tensorLength = head.byteLength + varintLength(rawLength) + 1 + rawLength;
    return { t, source, head, rawLength, tensorLength };
  });
  const graphLength =
    frame.graphHead.byteLength + frame.graphTail.byteLength + inits.reduce((n, i) => n + 1 + varintLength(i.tensorLength) + i.tensorLength, 0);

  const handle = await open(file, 'w');
  let written = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    for (let off = 0; off < bytes.byteLength; ) off += (await handle.write(bytes, off, bytes.byteLength - off)).bytesWritten;
    pending = [];
    pendingBytes = 0;
  };
  const put = async (bytes: Uint8Array): Promise<void> => {
    written += bytes.byteLength;
    if (bytes.byteLength >= GATHER_BYTES) {
      await flush();
      pending = [bytes];
      pendingBytes = bytes.byteLength;
      await flush();
      return;
    }
    pending.push(bytes);
    pendingBytes += bytes.byteLength;
    if (pendingBytes >= GATHER_BYTES) await flush();
  };
  try {
    await put(frame.modelHead);
    await put(fieldPrefix(MODEL_GRAPH_TAG, graphLength));
    await put(frame.graphHead);
    let done = 0;
    for (const i of inits) {
      await put(fieldPrefix(GRAPH_INITIALIZER_TAG, i.tensorLength));
      await put(i.head);
      await put(fieldPrefix(TENSOR_RAW_DATA_TAG, i.rawLength));
      await put(i.source === undefined ? i.t.raw : await readSource(i.t.name, i.source));
      onTensor?.(++done, inits.length, i.t.name);
    }
    await put(frame.graphTail);
    await put(frame.modelTail);
    await flush();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(file, { force: true });
    throw error;
  }
  return written;
}
