/**
 * ggml's tensor encodings as pure functions over float32 values: F32, F16, BF16 and the
 * block formats Q8_0 and Q4_0, following ggml-quants.c's reference rows
 * (quantize_row_q8_0_ref / quantize_row_q4_0_ref and their dequantize_row_*).
 * Q8_0: 32 weights share an fp16 scale d = max|x| / 127, codes round(x / d) as int8.
 * Q4_0: 32 weights share d = x_max / -8 (x_max the value of largest magnitude), codes
 * min(15, floor(x / d + 8.5)) as 4 bits; byte j holds weight j (low) and j + 16 (high).
 */
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from '@distillery/onnx';
import { decodeQ4K, decodeQ6K } from './gguf-kquants';
import { GGML_BLOCK, GgmlType, ggmlTypeName } from './gguf-types';

const QK = 32;
const f32 = Math.fround;

/** Bytes that `count` values take in `type`; throws when count is not whole blocks. */
export function ggmlByteSize(type: GgmlType, count: number): number {
  const block = GGML_BLOCK[type];
  if (!block) throw new Error(`ggml type ${ggmlTypeName(type)} is not supported`);
  if (count % block.weights !== 0) throw new Error(`${count} values are not whole ${ggmlTypeName(type)} blocks of ${block.weights}`);
  return (count / block.weights) * block.bytes;
}

function encodeQ8_0(x: Float32Array, out: DataView): void {
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]!));
    const d = f32(amax / 127);
    const id = d ? f32(1 / d) : 0;
    const o = b * 34;
    out.setUint16(o, float32ToFloat16Bits(d), true);
    for (let j = 0; j < QK; j++) {
      const v = f32(x[b * QK + j]! * id);
      // roundf: halves away from zero.
      out.setInt8(o + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
}

function encodeQ4_0(x: Float32Array, out: DataView): void {
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j]!;
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f32(max / -8);
    const id = d ? f32(1 / d) : 0;
    const o = b * 18;
    out.setUint16(o, float32ToFloat16Bits(d), true);
    for (let j = 0; j < QK / 2; j++) {
      const x0 = f32(x[b * QK + j]! * id);
      const x1 = f32(x[b * QK + QK / 2 + j]! * id);
      const q0 = Math.min(15, Math.trunc(f32(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(f32(x1 + 8.5)));
      out.setUint8(o + 2 + j, q0 | (q1 << 4));
    }
  }
}

/** The bytes of `values` in ggml `type` (values count must be whole blocks). */
export function encodeGgml(type: GgmlType, values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(ggmlByteSize(type, values.length));
  const view = new DataView(bytes.buffer);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
      break;
    case GgmlType.F16:
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, float32ToFloat16Bits(values[i]!), true);
      break;
    case GgmlType.BF16:
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, float32ToBfloat16Bits(values[i]!), true);
      break;
    case GgmlType.Q8_0:
      encodeQ8_0(values, view);
      break;
    case GgmlType.Q4_0:
      encodeQ4_0(values, view);
      break;
    default:
      throw new Error(`writing ggml type ${ggmlTypeName(type)} is not supported`);
  }
  return bytes;
}

/** float32 values of `count` elements stored as ggml `type` in `bytes`. */
export function decodeGgml(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const need = ggmlByteSize(type, count);
  if (bytes.length < need) throw new Error(`${ggmlTypeName(type)} data of ${count} values needs ${need} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case GgmlType.F16:
      for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      break;
    case GgmlType.BF16:
      for (let i = 0; i < count; i++) out[i] = bfloat16BitsToFloat32(view.getUint16(i * 2, true));
      break;
    case GgmlType.Q8_0:
      for (let b = 0; b < count / QK; b++) {
        const d = float16BitsToFloat32(view.getUint16(b * 34, true));
        for (let j = 0; j < QK; j++) out[b * QK + j] = view.getInt8(b * 34 + 2 + j) * d;
      }
      break;
    case GgmlType.Q4_0:
      for (let b = 0; b < count / QK; b++) {
        const d = float16BitsToFloat32(view.getUint16(b * 18, true));
        for (let j = 0; j < QK / 2; j++) {
          const q = view.getUint8(b * 18 + 2 + j);
          out[b * QK + j] = ((q & 0x0f) - 8) * d;
          out[b * QK + QK / 2 + j] = ((q >> 4) - 8) * d;
        }
      }
      break;
    case GgmlType.Q4_K:
      decodeQ4K(bytes, count, out);
      break;
    case GgmlType.Q6_K:
      decodeQ6K(bytes, count, out);
      break;
    default:
      throw new Error(`reading ggml type ${ggmlTypeName(type)} is not supported`);
  }
  return out;
}
