/**
 * An ONNX file's graph without its weights: a walk of the protobuf wire format over the
 * file (ModelProto field 7 graph, GraphProto field 5 initializer, TensorProto field 9
 * raw_data) that records each initializer's raw_data as a byte range of the file instead of
 * copying it. Every other field is copied and decoded by proto-codec, so the graph is what
 * decodeModel gives, with placeholders for the ranged weights; their sources read the range
 * (or the external data file's range) when asked. Memory is the graph, not the weights.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { byteLength, dtypeFromCode } from './dtype';
import { type DeferredModel, type TensorSource } from './deferred-model';
import type { Tensor } from './model';
import { externalDataFile } from './model-io';
import { decodeModel, decodeTensorProto, externalRefOf, GRAPH_INITIALIZER_TAG, MODEL_GRAPH_TAG, tensorFromProto, TENSOR_RAW_DATA_TAG } from './proto-codec';

/** A weight's bytes: `length` bytes at `offset` of `file`. */
export interface FileRange {
  file: string;
  offset: number;
  length: number;
}

export interface SkimmedModel extends DeferredModel {
  /** Where each deferred initializer's bytes are, by name. */
  readonly ranges: ReadonlyMap<string, FileRange>;
  /** Whether any initializer's bytes are in an external data file (deferred or read). */
  readonly usesExternalData: boolean;
}

export interface SkimOptions {
  /** The folder external data files are read from; without it a tensor with external data is refused. */
  dir?: string;
  /** How errors name the file (default: its base name). */
  label?: string;
  /** Weights smaller than this many bytes are read, not deferred (default 4096): shape inference reads such constants. */
  readBelow?: number;
}

const READ_BELOW_BYTES = 4096;

/** A malformed or truncated file; the message names the file, the field and the byte offset. */
export class OnnxSkimError extends Error {
  override name = 'OnnxSkimError';
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;
const CHUNK = 1 << 16;

/** Synchronous reads through a small window: the walk touches headers, not weights. */
class Cursor {
  pos = 0;
  private window = new Uint8Array(CHUNK);
  private windowStart = 0;
  private windowEnd = 0;

  constructor(
    readonly file: string,
    private readonly fd: number,
    readonly size: number,
    private readonly fail: (what: string) => never,
  ) {}

  byte(end: number, field: string): number {
    if (this.pos >= end) this.fail(`${field} is cut off at byte ${this.pos}`);
    if (this.pos < this.windowStart || this.pos >= this.windowEnd) {
      this.windowStart = this.pos;
      this.windowEnd = this.pos + readSync(this.fd, this.window, 0, Math.min(CHUNK, this.size - this.pos), this.pos);
    }
    return this.window[this.pos++ - this.windowStart]!;
  }

  /** A base-128 varint (protobuf encoding); multiplication, not shifts, since lengths pass 2^31. */
  varint(end: number, field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(end, field);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return this.fail(`${field} at byte ${this.pos} is a varint longer than 10 bytes`);
  }

  /** The end of a length-delimited value whose length prefix the cursor is at. */
  lengthEnd(end: number, field: string): number {
    const length = this.varint(end, `the length of ${field}`);
    if (this.pos + length > end) {
      this.fail(`${field} at byte ${this.pos} claims ${length} bytes, but ${end === this.size ? 'the file ends' : 'its message ends'} at byte ${end} (truncated or corrupt)`);
    }
    return this.pos + length;
  }

  /** Skips the value of a field of wire type `wire`. */
  skip(wire: number, end: number, field: string): void {
    if (wire === WIRE_VARINT) this.varint(end, field);
    else if (wire === WIRE_LENGTH) this.pos = this.lengthEnd(end, field);
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const n = wire === WIRE_FIXED64 ? 8 : 4;
      if (this.pos + n > end) this.fail(`${field} is cut off at byte ${this.pos}`);
      this.pos += n;
    } else this.fail(`${field} at byte ${this.pos} has wire type ${wire}, which ONNX does not use`);
  }

  copy(start: number, end: number): Uint8Array {
    const out = new Uint8Array(end - start);
    for (let done = 0; done < out.byteLength; ) {
      const n = readSync(this.fd, out, done, out.byteLength - done, start + done);
      if (n === 0) this.fail(`the file ended at byte ${start + done} while reading bytes ${start}..${end}`);
      done += n;
    }
    return out;
  }
}

/** Tag and base-128 length prefix of a length-delimited field (tags here fit in one byte). */
function lengthField(tag: number, body: Uint8Array): Uint8Array {
  const prefix = [tag];
  let n = body.byteLength;
  while (n >= 128) {
    prefix.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  prefix.push(n);
  return Buffer.concat([Uint8Array.from(prefix), body]);
}

/** A source reading `range` when asked, with the checks a writer makes of its length. */
export function rangeSource(tensor: Pick<Tensor, 'dtype' | 'dims'>, range: FileRange): TensorSource {
  return {
    dtype: tensor.dtype,
    dims: [...tensor.dims],
    async read() {
      const handle = await open(range.file, 'r');
      try {
        const out = new Uint8Array(range.length);
        for (let done = 0; done < range.length; ) {
          const { bytesRead } = await handle.read(out, done, range.length - done, range.offset + done);
          if (bytesRead === 0) throw new Error(`${range.file} ended at byte ${range.offset + done}, inside a weight's range ${range.offset}+${range.length}`);
          done += bytesRead;
        }
        return out;
      } finally {
        await handle.close();
      }
    },
  };
}

function readRangeSync(range: FileRange): Uint8Array {
  const fd = openSync(range.file, 'r');
  try {
    const out = new Uint8Array(range.length);
    for (let done = 0; done < range.length; ) {
      const n = readSync(fd, out, done, range.length - done, range.offset + done);
      if (n === 0) throw new OnnxSkimError(`${range.file} ended at byte ${range.offset + done}, inside a weight's range ${range.offset}+${range.length}`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

interface SkimmedTensor {
  tensor: Tensor;
  range: FileRange | null;
  external?: boolean;
}

/**
 * Reads `file`'s graph, every initializer of at least `opts.readBelow` bytes stored as
 * raw_data (or as external data under `opts.dir`) left in the file as a range; smaller ones
 * (shape constants validation reads) and those in typed fields (small by nature) are read. Throws OnnxSkimError naming the file and field for a truncated or malformed
 * file, or a weight whose range is not its dtype and dims' size.
 */
export function skimModelFile(file: string, opts: SkimOptions = {}): SkimmedModel {
  const label = opts.label ?? path.basename(file);
  const fail = (what: string): never => {
    throw new OnnxSkimError(`${label}: ${what}`);
  };
  const fd = openSync(file, 'r');
  try {
    const cursor = new Cursor(file, fd, fstatSync(fd).size, fail);
    const modelRest: Uint8Array[] = [];
    let graph: { rest: Uint8Array[]; initializers: SkimmedTensor[] } | null = null;
    while (cursor.pos < cursor.size) {
      const start = cursor.pos;
      const key = cursor.varint(cursor.size, 'a ModelProto field key');
      if (key === MODEL_GRAPH_TAG) {
        if (graph !== null) fail(`ModelProto.graph appears twice (again at byte ${start})`);
        const end = cursor.lengthEnd(cursor.size, 'ModelProto.graph');
        graph = skimGraph(cursor, end, opts.dir, fail);
        continue;
      }
      cursor.skip(key & 7, cursor.size, `ModelProto field ${Math.floor(key / 8)}`);
      modelRest.push(cursor.copy(start, cursor.pos));
    }
    if (graph === null) fail('not an ONNX model: ModelProto has no graph');
    const { rest, initializers } = graph!;
    let model;
    try {
      model = decodeModel(Buffer.concat([...modelRest, lengthField(MODEL_GRAPH_TAG, Buffer.concat(rest))]));
    } catch (e) {
      return fail((e as Error).message);
    }
    const readBelow = opts.readBelow ?? READ_BELOW_BYTES;
    const sources = new Map<string, TensorSource>();
    const ranges = new Map<string, FileRange>();
    for (const skimmed of initializers) {
      const { tensor, range } = skimmed;
      if (range === null) continue;
      if (range.length < readBelow) {
        skimmed.tensor = { ...tensor, raw: readRangeSync(range) };
        continue;
      }
      if (ranges.has(tensor.name)) fail(`GraphProto.initializer "${tensor.name}" appears twice`);
      ranges.set(tensor.name, range);
      sources.set(tensor.name, rangeSource(tensor, range));
    }
    const usesExternalData = initializers.some((i) => i.external === true);
    return { model: { ...model, graph: { ...model.graph, initializers: initializers.map((i) => i.tensor) } }, sources, ranges, usesExternalData };
  } finally {
    closeSync(fd);
  }
}

function skimGraph(cursor: Cursor, end: number, dir: string | undefined, fail: (what: string) => never): { rest: Uint8Array[]; initializers: SkimmedTensor[] } {
  const rest: Uint8Array[] = [];
  const initializers: SkimmedTensor[] = [];
  while (cursor.pos < end) {
    const start = cursor.pos;
    const key = cursor.varint(end, 'a GraphProto field key');
    if (key === GRAPH_INITIALIZER_TAG) {
      const field = `GraphProto.initializer[${initializers.length}]`;
      const tensorEnd = cursor.lengthEnd(end, field);
      initializers.push(skimTensor(cursor, tensorEnd, field, dir, fail));
      continue;
    }
    cursor.skip(key & 7, end, `GraphProto field ${Math.floor(key / 8)}`);
    rest.push(cursor.copy(start, cursor.pos));
  }
  return { rest, initializers };
}

function skimTensor(cursor: Cursor, end: number, field: string, dir: string | undefined, fail: (what: string) => never): SkimmedTensor {
  const head: Uint8Array[] = [];
  let raw: { offset: number; length: number } | null = null;
  while (cursor.pos < end) {
    const start = cursor.pos;
    const key = cursor.varint(end, `a ${field} field key`);
    if (key === TENSOR_RAW_DATA_TAG) {
      const rawEnd = cursor.lengthEnd(end, `${field}.raw_data`);
      raw = { offset: cursor.pos, length: rawEnd - cursor.pos };
      cursor.pos = rawEnd;
      continue;
    }
    cursor.skip(key & 7, end, `${field} field ${Math.floor(key / 8)}`);
    head.push(cursor.copy(start, cursor.pos));
  }
  let proto;
  try {
    proto = decodeTensorProto(Buffer.concat(head));
  } catch (e) {
    return fail(`${field}: ${(e as Error).message}`);
  }
  const name = proto.name ?? '';
  const where = `${field} ("${name}")`;
  let dtype;
  try {
    dtype = dtypeFromCode(proto.dataType ?? 0);
  } catch (e) {
    return fail(`${where}.data_type: ${(e as Error).message}`);
  }
  const dims = (proto.dims ?? []).map((d) => (typeof d === 'number' ? d : d.toNumber()));
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`${where}.dims [${dims.join(',')}] are not all non-negative integers`);
  const expected = dtype === 'string' ? -1 : byteLength(dtype, dims);
  const ref = externalRefOf(proto);
  if (ref !== null) {
    if (dir === undefined) fail(`${where} uses external data ("${ref.location}") but no model folder was given`);
    let file;
    try {
      file = externalDataFile(dir!, ref.location, name);
    } catch (e) {
      return fail((e as Error).message);
    }
    const size = statSync(file).size;
    const length = ref.length ?? size - ref.offset;
    if (length !== expected) fail(`${where}.external_data length is ${length} bytes for ${dtype}[${dims.join(',')}] (expected ${expected})`);
    if (ref.offset < 0 || ref.offset + length > size) fail(`${where}.external_data range ${ref.offset}+${length} is outside "${ref.location}" (${size} bytes)`);
    return { tensor: { name, dtype, dims, raw: new Uint8Array(0) }, range: { file, offset: ref.offset, length }, external: true };
  }
  if (raw !== null && raw.length > 0) {
    if (raw.length !== expected) fail(`${where}.raw_data holds ${raw.length} bytes for ${dtype}[${dims.join(',')}] (expected ${expected})`);
    return { tensor: { name, dtype, dims, raw: new Uint8Array(0) }, range: { file: cursor.file, offset: raw.offset, length: raw.length } };
  }
  try {
    return { tensor: tensorFromProto(proto), range: null };
  } catch (e) {
    return fail(`${where}: ${(e as Error).message}`);
  }
}
