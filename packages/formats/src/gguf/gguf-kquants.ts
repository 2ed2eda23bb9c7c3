/**
 * Decoding of ggml's K-quants Q4_K and Q6_K (super-blocks of 256 weights), following
 * ggml-quants.c dequantize_row_q4_K / dequantize_row_q6_K, float32 arithmetic as there.
 * Q4_K: 8 sub-blocks of 32, each with a 6-bit scale and min: x = d*sc*q - dmin*m.
 * Q6_K: 16 sub-blocks of 16, each with an int8 scale: x = d*sc*(q - 32), q of 6 bits split
 * into low nibbles (ql) and high pairs (qh).
 */
import { float16BitsToFloat32 } from '@distillery/onnx';

const QK_K = 256;
const f32 = Math.fround;

/** The 6-bit scale and min of sub-block j from Q4_K's 12 packed bytes (ggml's get_scale_min_k4). */
export function q4kScaleMin(j: number, q: Uint8Array): [number, number] {
  if (j < 4) return [q[j]! & 63, q[j + 4]! & 63];
  return [(q[j + 4]! & 0xf) | ((q[j - 4]! >> 6) << 4), (q[j + 4]! >> 4) | ((q[j]! >> 6) << 4)];
}

export function decodeQ4K(bytes: Uint8Array, count: number, out: Float32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * 144;
    const d = float16BitsToFloat32(view.getUint16(o, true));
    const dmin = float16BitsToFloat32(view.getUint16(o + 2, true));
    const scales = bytes.subarray(o + 4, o + 16);
    let y = b * QK_K;
    let q = o + 16;
    for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
      const [sc1, m1] = q4kScaleMin(is, scales);
      const [sc2, m2] = q4kScaleMin(is + 1, scales);
      const d1 = f32(d * sc1);
      const min1 = f32(dmin * m1);
      const d2 = f32(d * sc2);
      const min2 = f32(dmin * m2);
      for (let l = 0; l < 32; l++) out[y++] = f32(f32(d1 * (bytes[q + l]! & 0xf)) - min1);
      for (let l = 0; l < 32; l++) out[y++] = f32(f32(d2 * (bytes[q + l]! >> 4)) - min2);
    }
  }
}

export function decodeQ6K(bytes: Uint8Array, count: number, out: Float32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / QK_K; b++) {
    const o = b * 210;
    const d = float16BitsToFloat32(view.getUint16(o + 208, true));
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    let y = b * QK_K;
    for (let n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l]!;
        const q1 = ((bytes[ql + l]! & 0xf) | (((h >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[y + l] = f32(f32(d * view.getInt8(sc + is)) * q1);
        out[y + l + 32] = f32(f32(d * view.getInt8(sc + is + 2)) * q2);
        out[y + l + 64] = f32(f32(d * view.getInt8(sc + is + 4)) * q3);
        out[y + l + 96] = f32(f32(d * view.getInt8(sc + is + 6)) * q4);
      }
    }
  }
}
