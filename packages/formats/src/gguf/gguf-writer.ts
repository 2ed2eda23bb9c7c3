/**
 * Writes a GGUF version 3 file: header, metadata, tensor infos, then each tensor's bytes
 * at an aligned offset. Tensor data is produced and written one tensor at a time, so
 * only one tensor's bytes are held at once.
 */
import { open } from 'node:fs/promises';
import { ggmlByteSize } from './gguf-blocks';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufValueType, type GgmlType, type GgufMetadata, type GgufValue } from './gguf-types';

export interface GgufTensorOut {
  name: string;
  /** ggml order: ne[0] is the contiguous (innermost) dimension. */
  ne: number[];
  type: GgmlType;
  /** Called once, when the tensor's turn to be written comes. */
  data: () => Uint8Array;
}

/** Metadata value constructors. */
export const gv = {
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  arr: (elementType: GgufValueType, value: Array<string | number | boolean | bigint>): GgufValue => ({ type: GgufValueType.ARRAY, elementType, value }),
};

/** Growable little-endian byte sink for the header. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: number | bigint): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: number | bigint): void { this.reserve(8); this.view.setBigInt64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(sink: ByteSink, type: GgufValueType, v: string | number | boolean | bigint): void {
  switch (type) {
    case GgufValueType.UINT8: return sink.u8(Number(v));
    case GgufValueType.INT8: return sink.i8(Number(v));
    case GgufValueType.UINT16: return sink.u16(Number(v));
    case GgufValueType.INT16: return sink.i16(Number(v));
    case GgufValueType.UINT32: return sink.u32(Number(v));
    case GgufValueType.INT32: return sink.i32(Number(v));
    case GgufValueType.FLOAT32: return sink.f32(Number(v));
    case GgufValueType.FLOAT64: return sink.f64(Number(v));
    case GgufValueType.BOOL: return sink.u8(v ? 1 : 0);
    case GgufValueType.UINT64: return sink.u64(typeof v === 'bigint' ? v : Number(v));
    case GgufValueType.INT64: return sink.i64(typeof v === 'bigint' ? v : Number(v));
    case GgufValueType.STRING: return sink.str(String(v));
    default: throw new Error(`cannot write a GGUF value of type ${type} as an array element`);
  }
}

function writeValue(sink: ByteSink, value: GgufValue): void {
  sink.u32(value.type);
  if (value.type === GgufValueType.ARRAY) {
    if (value.elementType === GgufValueType.ARRAY) throw new Error('nested GGUF arrays are not written');
    sink.u32(value.elementType);
    sink.u64(value.value.length);
    for (const v of value.value) writeScalar(sink, value.elementType, v);
  } else writeScalar(sink, value.type, value.value);
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

export async function writeGguf(file: string, metadata: GgufMetadata, tensors: GgufTensorOut[]): Promise<{ bytes: number }> {
  const alignmentValue = metadata.get('general.alignment');
  const alignment = alignmentValue?.type === GgufValueType.UINT32 ? alignmentValue.value : GGUF_DEFAULT_ALIGNMENT;
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(3);
  sink.u64(tensors.length);
  sink.u64(metadata.size);
  for (const [key, value] of metadata) {
    sink.str(key);
    writeValue(sink, value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const count = t.ne.reduce((a, b) => a * b, 1);
    const size = ggmlByteSize(t.type, count);
    sink.str(t.name);
    sink.u32(t.ne.length);
    for (const d of t.ne) sink.u64(d);
    sink.u32(t.type);
    sink.u64(offset);
    sizes.push(size);
    offset = alignUp(offset + size, alignment);
  }
  sink.pad(alignment);
  const handle = await open(file, 'w');
  try {
    await handle.write(sink.result());
    let position = sink.length;
    const zeros = new Uint8Array(alignment);
    for (let i = 0; i < tensors.length; i++) {
      const data = tensors[i]!.data();
      if (data.length !== sizes[i]) throw new Error(`tensor ${tensors[i]!.name}: ${data.length} bytes given, ${sizes[i]} expected`);
      await handle.write(data, 0, data.length, position);
      position += data.length;
      const padding = alignUp(position, alignment) - position;
      if (padding && i < tensors.length - 1) {
        await handle.write(zeros, 0, padding, position);
        position += padding;
      }
    }
    return { bytes: position };
  } finally {
    await handle.close();
  }
}

