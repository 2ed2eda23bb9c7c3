/**
 * Element-type conversions for tensors: IEEE 754 half and bfloat16 bit patterns, integer
 * types, and 4-bit packing. Float narrowing rounds to nearest, ties to even (IEEE 754-2019
 * §4.3.1, roundTiesToEven); float -> integer rounds the same way and saturates, which is
 * what quantization wants (ONNX Cast would truncate instead).
 */
import { elementCount, type DType } from './dtype';
import type { Tensor } from './model';
import { makeTensor, tensorData, type NumericArray } from './tensor';

// One shared scratch word: reinterpreting float32 <-> uint32 without allocating per value.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 bit pattern of x (after rounding x to float32). */
export function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

export function float32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

/** Nearest IEEE half (binary16) bit pattern to float32(x); overflow gives ±inf, NaN stays NaN (quiet). */
export function float32ToFloat16Bits(x: number): number {
  const b = float32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Half subnormal: value in units of 2^-24 is (1.mant * 2^23) >> (14 - e).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    // A carry out of the mantissa lands exactly on the smallest normal, which is right.
    return sign | (q + (rem > halfway || (rem === halfway && q & 1) ? 1 : 0));
  }
  const h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry may propagate into the exponent (and up to infinity): that is the correct rounding.
  return h + (rem > 0x1000 || (rem === 0x1000 && h & 1) ? 1 : 0);
}

/** The float32 value of a half bit pattern (exact: every half is a float32). */
export function float16BitsToFloat32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    const v = mant * 2 ** -24;
    return sign ? -v : v;
  }
  if (exp === 0x1f) return float32FromBits(sign | 0x7f800000 | (mant << 13));
  return float32FromBits(sign | ((exp + 112) << 23) | (mant << 13));
}

/** Nearest bfloat16 bit pattern to float32(x), ties to even; NaN stays NaN (quiet). */
export function float32ToBfloat16Bits(x: number): number {
  const b = float32Bits(x);
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return (b >>> 16) | 0x40;
  const lsb = (b >>> 16) & 1;
  return ((b + 0x7fff + lsb) / 0x10000) >>> 0 & 0xffff;
}

export function bfloat16BitsToFloat32(h: number): number {
  return float32FromBits((h & 0xffff) << 16);
}

export function float32ToFloat16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToFloat16Bits(src[i]!);
  return out;
}

export function float16ArrayToFloat32(src: ArrayLike<number>): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float16BitsToFloat32(src[i]!);
  return out;
}

export function float32ToBfloat16Array(src: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = float32ToBfloat16Bits(src[i]!);
  return out;
}

export function bfloat16ArrayToFloat32(src: ArrayLike<number>): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = bfloat16BitsToFloat32(src[i]!);
  return out;
}

/** 1.5 · 2^52: x + RNE_SHIFT - RNE_SHIFT is x rounded to an integer for |x| < 2^51. */
const RNE_SHIFT = 6755399441055744;
const RNE_LIMIT = 2251799813685248; // 2^51

/**
 * Round half to even (Math.round rounds half up, which biases quantized weights). Below
 * 2^51 in magnitude, adding and subtracting 1.5 · 2^52 rounds in the arithmetic's own
 * round-half-even mode (IEEE 754 roundTiesToEven, which ECMAScript mandates): every
 * quantizer rounds each weight through here, and Math.round is several times slower.
 */
export function roundHalfEven(x: number): number {
  if (x > -RNE_LIMIT && x < RNE_LIMIT) {
    const r = x + RNE_SHIFT - RNE_SHIFT;
    // Zero keeps x's sign, as Math.round(-0.3) is -0.
    return r === 0 ? x * 0 : r;
  }
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int4: [-8, 7],
  uint4: [0, 15],
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  // The largest doubles below 2^63 and 2^64, so the clamped value still fits after BigInt().
  int64: [-(2 ** 63), 2 ** 63 - 1024],
  uint64: [0, 2 ** 64 - 2048],
};

/** The representable integer range of an integer dtype. */
export function integerRange(dtype: DType): [number, number] {
  const r = INT_RANGE[dtype];
  if (!r) throw new Error(`${dtype} is not an integer type`);
  return r;
}

/** Round to nearest even and clamp to the dtype's range; NaN becomes 0. */
export function saturateToInteger(x: number, dtype: DType): number {
  if (Number.isNaN(x)) return 0;
  const [lo, hi] = integerRange(dtype);
  if (dtype === 'bool') return x !== 0 ? 1 : 0;
  const r = roundHalfEven(x);
  return r < lo ? lo : r > hi ? hi : r;
}

/**
 * Pack 4-bit integers two per byte, element 2i in the low nibble of byte i (ONNX int4/uint4
 * layout, onnx/docs/Changelog.md "INT4/UINT4"). Values out of range throw: packing is the
 * last step of a quantizer and silent wrap-around would corrupt the weights.
 */
export function pack4Bit(values: ArrayLike<number>, signed: boolean): Uint8Array {
  const [lo, hi] = signed ? [-8, 7] : [0, 15];
  const out = new Uint8Array(Math.ceil(values.length / 2));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi) || !Number.isInteger(v)) {
      throw new Error(`pack4Bit: element ${i} is ${v}, outside ${signed ? 'int4' : 'uint4'} range [${lo}, ${hi}]`);
    }
    const nibble = v & 0x0f;
    out[i >> 1]! |= i & 1 ? nibble << 4 : nibble;
  }
  return out;
}

/** Unpack `count` 4-bit integers (low nibble first); signed nibbles are sign-extended. */
export function unpack4Bit(packed: Uint8Array, count: number, signed: boolean): Int8Array | Uint8Array {
  if (packed.length < Math.ceil(count / 2)) {
    throw new Error(`unpack4Bit: ${packed.length} bytes hold fewer than ${count} 4-bit values`);
  }
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const byte = packed[i >> 1]!;
    const nibble = i & 1 ? byte >>> 4 : byte & 0x0f;
    out[i] = signed && nibble & 0x8 ? nibble - 16 : nibble;
  }
  return out;
}

/**
 * A tensor's values as float32, whatever its element type. int64/uint64 beyond 2^24 and
 * float64 lose precision, as any float32 copy must.
 */
export function tensorToFloat32(t: Tensor): Float32Array {
  const n = elementCount(t.dims);
  switch (t.dtype) {
    case 'float32':
      return Float32Array.from(tensorData(t) as Float32Array);
    case 'float16':
      return float16ArrayToFloat32(tensorData(t) as Uint16Array);
    case 'bfloat16':
      return bfloat16ArrayToFloat32(tensorData(t) as Uint16Array);
    case 'int4':
    case 'uint4':
      return Float32Array.from(unpack4Bit(t.raw, n, t.dtype === 'int4'));
    default:
      return Float32Array.from(tensorNumbers(t));
  }
}

/** A tensor's values as JS numbers (float16/bfloat16 decoded, 4-bit unpacked). */
export function tensorNumbers(t: Tensor): Float64Array {
  const n = elementCount(t.dims);
  switch (t.dtype) {
    case 'float16':
    case 'bfloat16':
    case 'int4':
    case 'uint4':
      return Float64Array.from(tensorToFloat32(t));
    case 'int64':
    case 'uint64': {
      const src = tensorData(t) as BigInt64Array | BigUint64Array;
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
    }
    default:
      return Float64Array.from(tensorData(t) as Exclude<NumericArray, BigInt64Array | BigUint64Array>);
  }
}

/**
 * A tensor of `dtype` holding `values`: floats rounded to nearest even (via float32 for the
 * 16-bit formats), integers rounded to nearest even and saturated.
 */
export function tensorFromNumbers(name: string, dtype: DType, dims: number[], values: ArrayLike<number>): Tensor {
  const n = elementCount(dims);
  if (values.length !== n) throw new Error(`tensor "${name}": ${values.length} values for shape [${dims.join(',')}]`);
  const sat = (x: number) => saturateToInteger(x, dtype);
  switch (dtype) {
    case 'float32':
      return makeTensor(name, dtype, dims, Float32Array.from(values));
    case 'float64':
      return makeTensor(name, dtype, dims, Float64Array.from(values));
    case 'float16':
      return makeTensor(name, dtype, dims, float32ToFloat16Array(values));
    case 'bfloat16':
      return makeTensor(name, dtype, dims, float32ToBfloat16Array(values));
    case 'int4':
    case 'uint4':
      return makeTensor(name, dtype, dims, pack4Bit(Array.from(values, sat), dtype === 'int4'));
    case 'int8':
      return makeTensor(name, dtype, dims, Int8Array.from(values, sat));
    case 'uint8':
    case 'bool':
      return makeTensor(name, dtype, dims, Uint8Array.from(values, sat));
    case 'int16':
      return makeTensor(name, dtype, dims, Int16Array.from(values, sat));
    case 'uint16':
      return makeTensor(name, dtype, dims, Uint16Array.from(values, sat));
    case 'int32':
      return makeTensor(name, dtype, dims, Int32Array.from(values, sat));
    case 'uint32':
      return makeTensor(name, dtype, dims, Uint32Array.from(values, sat));
    case 'int64':
      return makeTensor(name, dtype, dims, BigInt64Array.from(Array.from(values, (v) => BigInt.asIntN(64, BigInt(sat(v))))));
    case 'uint64':
      return makeTensor(name, dtype, dims, BigUint64Array.from(Array.from(values, (v) => BigInt.asUintN(64, BigInt(sat(v))))));
    case 'string':
      throw new Error(`tensor "${name}": string tensors are not supported`);
  }
}

const FLOAT_SOURCES: ReadonlySet<DType> = new Set(['float32', 'float16', 'bfloat16']);

/**
 * The same values as a tensor of another element type (same name and shape). Between
 * float32/float16/bfloat16 this goes through float32, which holds all three exactly, so
 * there is a single rounding step.
 */
export function convertTensor(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return { ...t, dims: [...t.dims], raw: t.raw.slice() };
  const values = FLOAT_SOURCES.has(t.dtype) ? tensorToFloat32(t) : tensorNumbers(t);
  return tensorFromNumbers(t.name, dtype, t.dims, values);
}
