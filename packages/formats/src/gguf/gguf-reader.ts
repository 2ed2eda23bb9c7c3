/**
 * Reads a GGUF file's header (versions 1-3; version 1 counts and lengths are 32-bit) and,
 * on request, one tensor at a time. Every length and count is checked against the bytes
 * the file really has before anything is allocated, so a header claiming 2^60 elements
 * or a string past the end fails with a GgufFormatError naming the file, field and problem.
 * @huggingface/gguf parses headers too, but not version 1 and not with these checks.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { float16BitsToFloat32 } from '@distillery/onnx';
import { decodeGgml } from './gguf-blocks';
import { GGML_BLOCK, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlType, GgufFormatError, GgufValueType, VALUE_TYPE_BYTES, ggmlTypeName, type GgufMetadata, type GgufValue } from './gguf-types';

export interface GgufTensorInfo {
  name: string;
  /** ggml dims, ne[0] innermost. */
  ne: number[];
  type: GgmlType;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  count: number;
  bytes: number;
}

export interface GgufHeader {
  file: string;
  version: number;
  fileSize: number;
  alignment: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
}

const CHUNK = 1 << 20;
const GGML_MAX_DIMS = 4;

/** Sequential little-endian reads over a file handle, a chunk at a time. */
class Cursor {
  private buf = new Uint8Array(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly size: number,
  ) {}

  get remaining(): number {
    return this.size - this.pos;
  }

  private async need(n: number, field: string): Promise<DataView> {
    if (n > this.remaining) {
      throw new GgufFormatError(this.file, field, `truncated: needs ${n} bytes at offset ${this.pos}, the file ends at ${this.size}`);
    }
    const end = this.pos + n;
    if (this.pos < this.bufStart || end > this.bufStart + this.buf.length) {
      const length = Math.min(Math.max(n, CHUNK), this.size - this.pos);
      const next = new Uint8Array(length);
      await this.handle.read(next, 0, length, this.pos);
      this.buf = next;
      this.bufStart = this.pos;
    }
    const view = new DataView(this.buf.buffer, this.pos - this.bufStart, n);
    this.pos = end;
    return view;
  }

  async u8(field: string): Promise<number> { return (await this.need(1, field)).getUint8(0); }
  async i8(field: string): Promise<number> { return (await this.need(1, field)).getInt8(0); }
  async u16(field: string): Promise<number> { return (await this.need(2, field)).getUint16(0, true); }
  async i16(field: string): Promise<number> { return (await this.need(2, field)).getInt16(0, true); }
  async u32(field: string): Promise<number> { return (await this.need(4, field)).getUint32(0, true); }
  async i32(field: string): Promise<number> { return (await this.need(4, field)).getInt32(0, true); }
  async f32(field: string): Promise<number> { return (await this.need(4, field)).getFloat32(0, true); }
  async f64(field: string): Promise<number> { return (await this.need(8, field)).getFloat64(0, true); }
  async u64(field: string): Promise<bigint> { return (await this.need(8, field)).getBigUint64(0, true); }
  async i64(field: string): Promise<bigint> { return (await this.need(8, field)).getBigInt64(0, true); }

  async bytes(n: number, field: string): Promise<Uint8Array> {
    const view = await this.need(n, field);
    return new Uint8Array(view.buffer, view.byteOffset, n);
  }
}

class HeaderReader {
  constructor(
    private readonly c: Cursor,
    private readonly version: number,
  ) {}

  private fail(field: string, problem: string): never {
    throw new GgufFormatError(this.c.file, field, problem);
  }

  /** A count or length (32-bit in version 1), checked to fit in what is left of the file at `minBytes` each. */
  async count(field: string, minBytes: number): Promise<number> {
    const at = this.c.pos;
    const raw = this.version === 1 ? BigInt(await this.c.u32(field)) : await this.c.u64(field);
    const left = BigInt(this.c.remaining);
    if (raw * BigInt(minBytes) > left) {
      this.fail(field, `claims ${raw} (at offset ${at}), more than the remaining ${left} bytes of the file can hold`);
    }
    return Number(raw);
  }

  async string(field: string): Promise<string> {
    const n = await this.count(field, 1);
    return Buffer.from(await this.c.bytes(n, field)).toString('utf8');
  }

  async scalar(type: GgufValueType, field: string): Promise<string | number | boolean | bigint> {
    switch (type) {
      case GgufValueType.UINT8: return this.c.u8(field);
      case GgufValueType.INT8: return this.c.i8(field);
      case GgufValueType.UINT16: return this.c.u16(field);
      case GgufValueType.INT16: return this.c.i16(field);
      case GgufValueType.UINT32: return this.c.u32(field);
      case GgufValueType.INT32: return this.c.i32(field);
      case GgufValueType.FLOAT32: return this.c.f32(field);
      case GgufValueType.FLOAT64: return this.c.f64(field);
      case GgufValueType.BOOL: {
        const b = await this.c.u8(field);
        if (b > 1) this.fail(field, `bool value ${b} is neither 0 nor 1`);
        return b === 1;
      }
      case GgufValueType.UINT64: return this.c.u64(field);
      case GgufValueType.INT64: return this.c.i64(field);
      case GgufValueType.STRING: return this.string(field);
      default: return this.fail(field, `unknown value type ${type}`);
    }
  }

  async value(field: string): Promise<GgufValue> {
    const type = (await this.c.u32(field)) as GgufValueType;
    if (type === GgufValueType.ARRAY) {
      const elementType = (await this.c.u32(field)) as GgufValueType;
      if (elementType === GgufValueType.ARRAY) this.fail(field, 'nested arrays are not supported');
      const minBytes = elementType === GgufValueType.STRING ? (this.version === 1 ? 4 : 8) : VALUE_TYPE_BYTES[elementType];
      if (minBytes === undefined) this.fail(field, `unknown array element type ${elementType}`);
      const n = await this.count(field, minBytes);
      const value: Array<string | number | boolean | bigint> = new Array(n);
      for (let i = 0; i < n; i++) value[i] = await this.scalar(elementType, field);
      return { type, elementType, value };
    }
    const value = await this.scalar(type, field);
    return { type, value } as GgufValue;
  }
}

function tensorCount(ne: bigint[]): bigint {
  return ne.reduce((a, b) => a * b, 1n);
}

export async function readGgufHeader(file: string): Promise<GgufHeader> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new GgufFormatError(file, 'file', `cannot be opened (${(error as Error).message})`);
  }
  try {
    const size = (await handle.stat()).size;
    const c = new Cursor(handle, file, size);
    if (size < 4) throw new GgufFormatError(file, 'magic', `truncated: the file has ${size} bytes, a GGUF file starts with 4 magic bytes`);
    const magic = await c.u32('magic');
    if (magic !== GGUF_MAGIC) {
      const seen = Buffer.alloc(4);
      seen.writeUInt32LE(magic);
      throw new GgufFormatError(file, 'magic', `expected "GGUF", found ${JSON.stringify(seen.toString('latin1'))} (0x${seen.toString('hex')})`);
    }
    const version = await c.u32('version');
    if (version < 1 || version > 3) throw new GgufFormatError(file, 'version', `${version} is not a GGUF version this reader knows (1-3)`);
    const r = new HeaderReader(c, version);
    const countBytes = version === 1 ? 4 : 8;
    // Smallest tensor info: empty name length, n_dims, one dim, type, offset.
    const nTensors = await r.count('tensor_count', countBytes + 4 + (version === 1 ? 4 : 8) + 4 + 8);
    const nKv = await r.count('metadata_kv_count', countBytes + 4 + 1);
    const metadata: GgufMetadata = new Map();
    for (let i = 0; i < nKv; i++) {
      const key = await r.string(`metadata key #${i}`);
      if (metadata.has(key)) throw new GgufFormatError(file, key, 'appears twice in the metadata');
      metadata.set(key, await r.value(key));
    }
    let alignment = GGUF_DEFAULT_ALIGNMENT;
    const a = metadata.get('general.alignment');
    if (a !== undefined) {
      if (a.type !== GgufValueType.UINT32 || a.value === 0 || (a.value & (a.value - 1)) !== 0) {
        throw new GgufFormatError(file, 'general.alignment', `must be a uint32 power of two, got ${String(a.value)}`);
      }
      alignment = a.value;
    }
    const raw: Array<{ name: string; ne: bigint[]; type: number; offset: bigint }> = [];
    for (let i = 0; i < nTensors; i++) {
      const name = await r.string(`tensor #${i} name`);
      const nDims = await c.u32(`tensor ${name} n_dims`);
      if (nDims < 1 || nDims > GGML_MAX_DIMS) throw new GgufFormatError(file, `tensor ${name} n_dims`, `${nDims} is outside 1-${GGML_MAX_DIMS}`);
      const ne: bigint[] = [];
      for (let d = 0; d < nDims; d++) ne.push(version === 1 ? BigInt(await c.u32(`tensor ${name} ne[${d}]`)) : await c.u64(`tensor ${name} ne[${d}]`));
      const type = await c.u32(`tensor ${name} type`);
      const offset = await c.u64(`tensor ${name} offset`);
      raw.push({ name, ne, type, offset });
    }
    const dataStart = Math.ceil(c.pos / alignment) * alignment;
    const tensors: GgufTensorInfo[] = [];
    const names = new Set<string>();
    for (const t of raw) {
      const field = `tensor ${t.name}`;
      if (names.has(t.name)) throw new GgufFormatError(file, field, 'appears twice');
      names.add(t.name);
      if (t.ne.some((d) => d < 1n)) throw new GgufFormatError(file, `${field} dims`, `[${t.ne.join(', ')}] has a dimension below 1`);
      const block = GGML_BLOCK[t.type as GgmlType];
      if (!block) throw new GgufFormatError(file, `${field} type`, `${ggmlTypeName(t.type)} (${t.type}) is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K are)`);
      const count = tensorCount(t.ne);
      if (t.ne[0]! % BigInt(block.weights) !== 0n) throw new GgufFormatError(file, `${field} dims`, `rows of ${t.ne[0]} values are not whole ${ggmlTypeName(t.type)} blocks of ${block.weights}`);
      const bytes = (count / BigInt(block.weights)) * BigInt(block.bytes);
      const end = BigInt(dataStart) + t.offset + bytes;
      if (end > BigInt(size)) {
        throw new GgufFormatError(file, `${field} data`, `${count} elements (${bytes} bytes at data offset ${t.offset}) run past the end of the file (${size} bytes)`);
      }
      if (t.offset % BigInt(alignment) !== 0n) throw new GgufFormatError(file, `${field} offset`, `${t.offset} is not a multiple of the alignment ${alignment}`);
      tensors.push({ name: t.name, ne: t.ne.map(Number), type: t.type as GgmlType, offset: dataStart + Number(t.offset), count: Number(count), bytes: Number(bytes) });
    }
    return { file, version, fileSize: size, alignment, metadata, tensors };
  } finally {
    await handle.close();
  }
}

async function readTensorBytes(header: GgufHeader, info: GgufTensorInfo, handle?: FileHandle): Promise<Uint8Array> {
  const own = handle ?? (await open(header.file, 'r'));
  try {
    const bytes = new Uint8Array(info.bytes);
    const { bytesRead } = await own.read(bytes, 0, info.bytes, info.offset);
    if (bytesRead !== info.bytes) throw new GgufFormatError(header.file, `tensor ${info.name} data`, `truncated: read ${bytesRead} of ${info.bytes} bytes`);
    return bytes;
  } finally {
    if (!handle) await own.close();
  }
}

/** One tensor's float32 values; NaN or Inf fail naming the tensor and the first bad index. */
export async function readGgufTensor(header: GgufHeader, info: GgufTensorInfo, handle?: FileHandle): Promise<Float32Array> {
  const values = decodeGgml(info.type, await readTensorBytes(header, info, handle), info.count);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new GgufFormatError(header.file, `tensor ${info.name}`, `value ${i} is ${values[i]} (weights must be finite)`);
  }
  return values;
}

/** An F16 tensor's half-precision bits as stored (no widening); NaN or Inf fail as in readGgufTensor. */
export async function readGgufHalfBits(header: GgufHeader, info: GgufTensorInfo, handle?: FileHandle): Promise<Uint16Array> {
  if (info.type !== GgmlType.F16) throw new GgufFormatError(header.file, `tensor ${info.name} type`, `${ggmlTypeName(info.type)} is not F16`);
  const bytes = await readTensorBytes(header, info, handle);
  const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, info.count);
  for (let i = 0; i < bits.length; i++) {
    // Exponent all ones: infinity or NaN.
    if ((bits[i]! & 0x7c00) === 0x7c00) throw new GgufFormatError(header.file, `tensor ${info.name}`, `value ${i} is ${float16BitsToFloat32(bits[i]!)} (weights must be finite)`);
  }
  return bits;
}
