/**
 * Tensors as typed arrays. Raw bytes are little-endian (ONNX raw_data); this module
 * copies when the source is not aligned for a typed-array view.
 */
import { byteLength, elementCount, type DType } from './dtype';
import type { Tensor } from './model';

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

function bytesOf(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A tensor whose raw bytes are `data`'s bytes. For float16/bfloat16 pass Uint16Array bit
 * patterns; for int4/uint4 pass packed Uint8Array. The bytes are copied so later edits
 * of `data` cannot change the tensor.
 */
export function makeTensor(name: string, dtype: DType, dims: number[], data: NumericArray): Tensor {
  const raw = bytesOf(data).slice();
  const expected = byteLength(dtype, dims);
  if (raw.byteLength !== expected) {
    throw new Error(`tensor "${name}": ${raw.byteLength} bytes given for ${dtype}[${dims.join(',')}] (expected ${expected})`);
  }
  return { name, dtype, dims: [...dims], raw };
}

function aligned(raw: Uint8Array, bytesPerElement: number): ArrayBuffer {
  if (raw.byteOffset % bytesPerElement === 0) return raw.buffer as ArrayBuffer;
  // Buffer.prototype.slice is a view, not a copy: copy through Uint8Array explicitly.
  return Uint8Array.prototype.slice.call(raw).buffer as ArrayBuffer;
}

function offsetOf(raw: Uint8Array, bytesPerElement: number): number {
  return raw.byteOffset % bytesPerElement === 0 ? raw.byteOffset : 0;
}

/** A typed-array view (or aligned copy) of a tensor's stored values, in its own dtype. */
export function tensorData(t: Tensor): NumericArray {
  const n = elementCount(t.dims);
  const r = t.raw;
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(aligned(r, 4), offsetOf(r, 4), n);
    case 'float64':
      return new Float64Array(aligned(r, 8), offsetOf(r, 8), n);
    case 'int32':
      return new Int32Array(aligned(r, 4), offsetOf(r, 4), n);
    case 'uint32':
      return new Uint32Array(aligned(r, 4), offsetOf(r, 4), n);
    case 'int64':
      return new BigInt64Array(aligned(r, 8), offsetOf(r, 8), n);
    case 'uint64':
      return new BigUint64Array(aligned(r, 8), offsetOf(r, 8), n);
    case 'int16':
      return new Int16Array(aligned(r, 2), offsetOf(r, 2), n);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(aligned(r, 2), offsetOf(r, 2), n);
    case 'int8':
      return new Int8Array(r.buffer, r.byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(r.buffer, r.byteOffset, n);
    case 'int4':
    case 'uint4':
      return new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
    case 'string':
      throw new Error(`tensor "${t.name}": string tensors are not supported`);
  }
}

export function float32Tensor(name: string, dims: number[], data: Float32Array | number[]): Tensor {
  return makeTensor(name, 'float32', dims, data instanceof Float32Array ? data : Float32Array.from(data));
}

export function int64Tensor(name: string, dims: number[], data: number[] | BigInt64Array): Tensor {
  return makeTensor(name, 'int64', dims, data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v))));
}

export function int32Tensor(name: string, dims: number[], data: number[] | Int32Array): Tensor {
  return makeTensor(name, 'int32', dims, data instanceof Int32Array ? data : Int32Array.from(data));
}
