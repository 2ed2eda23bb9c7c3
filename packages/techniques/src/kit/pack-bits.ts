/**
 * Packing of unsigned b-bit codes (b in 2..8) into bytes, least significant bits first:
 * code i occupies bits [i*b, (i+1)*b) of the little-endian bit stream. For b = 2, 4 and 8
 * this is exactly the layout of com.microsoft MatMulNBits' B and zero_points blobs
 * (onnxruntime/contrib_ops/cpu/quantization/matmul_nbits.cc: element 2i in the low nibble
 * for 4 bits); 3-bit codes straddle bytes, which only storage formats use.
 *
 * Interface: `packBits(codes, bits)` -> Uint8Array of ceil(n*b/8) bytes; `unpackBits(bytes,
 * count, bits)` -> Uint8Array of codes. Codes out of range throw (silent wrap-around would
 * corrupt weights).
 */

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new Error(`packBits: bits must be an integer in 1..8, got ${bits}`);
}

export function packedByteLength(count: number, bits: number): number {
  return Math.ceil((count * bits) / 8);
}

export function packBits(codes: ArrayLike<number>, bits: number): Uint8Array {
  checkBits(bits);
  const max = (1 << bits) - 1;
  const out = new Uint8Array(packedByteLength(codes.length, bits));
  let bit = 0;
  for (let i = 0; i < codes.length; i++, bit += bits) {
    const v = codes[i]!;
    if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`packBits: code ${i} is ${v}, outside [0, ${max}] for ${bits} bits`);
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte]! |= (v << shift) & 0xff;
    // A code that straddles a byte boundary (3 bits) spills into the next byte.
    if (shift + bits > 8) out[byte + 1]! |= v >> (8 - shift);
  }
  return out;
}

export function unpackBits(packed: Uint8Array, count: number, bits: number): Uint8Array {
  checkBits(bits);
  if (packed.length < packedByteLength(count, bits)) throw new Error(`unpackBits: ${packed.length} bytes hold fewer than ${count} ${bits}-bit codes`);
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(count);
  let bit = 0;
  for (let i = 0; i < count; i++, bit += bits) {
    const byte = bit >> 3;
    const shift = bit & 7;
    let v = packed[byte]! >> shift;
    if (shift + bits > 8) v |= packed[byte + 1]! << (8 - shift);
    out[i] = v & mask;
  }
  return out;
}
