// Checks IEEE 754 binary16 / bfloat16 conversions (roundTiesToEven, IEEE 754-2019 §4.3.1)
// against slow definitional references, and 4-bit packing against ONNX's int4 layout.
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  attr,
  bfloat16BitsToFloat32,
  convertTensor,
  float16BitsToFloat32,
  float32Bits,
  float32FromBits,
  float32Tensor,
  float32ToBfloat16Bits,
  float32ToFloat16Array,
  float32ToFloat16Bits,
  int64Tensor,
  makeTensor,
  pack4Bit,
  roundHalfEven,
  runGraph,
  releaseGraph,
  tensorData,
  tensorToFloat32,
  unpack4Bit,
} from '../src/index';

/** binary16 by definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024. */
function refHalfValue(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  if (e === 0) return s * Math.pow(2, -14) * (m / 1024);
  return s * Math.pow(2, e - 15) * (1 + m / 1024);
}

/** bfloat16 by definition with an unbounded exponent (e = 255 stands for 2^128 as a rounding target). */
function refBf16Value(bits: number, unbounded = false): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 7) & 0xff;
  const m = bits & 0x7f;
  if (e === 0xff && !unbounded) return m ? NaN : s * Infinity;
  if (e === 0) return s * Math.pow(2, -126) * (m / 128);
  return s * Math.pow(2, e - 127) * (1 + m / 128);
}

// Non-negative finite halves in increasing order, then 2^16 standing for infinity: with an
// unbounded exponent the next value after 65504 is 65536, so that is where overflow rounds.
const halfLadder: { bits: number; value: number }[] = [];
for (let b = 0; b <= 0x7bff; b++) halfLadder.push({ bits: b, value: refHalfValue(b) });
halfLadder.push({ bits: 0x7c00, value: 65536 });

/** Nearest half by search over every half, ties to the even bit pattern. */
function refToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65536) return sign | 0x7c00;
  let lo = 0;
  let hi = halfLadder.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (halfLadder[mid]!.value <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - halfLadder[lo]!.value;
  const dh = halfLadder[hi]!.value - a;
  const pick = dl < dh ? lo : dh < dl ? hi : halfLadder[lo]!.bits % 2 === 0 ? lo : hi;
  return sign | halfLadder[pick]!.bits;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('float16', () => {
  it('decodes all 65536 bit patterns like the definition', () => {
    for (let b = 0; b < 65536; b++) {
      const got = float16BitsToFloat32(b);
      const want = refHalfValue(b);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (got !== want || Object.is(got, -0) !== Object.is(want, -0)) expect([b, got]).toEqual([b, want]);
    }
  });

  it('round-trips every non-NaN half exactly', () => {
    for (let b = 0; b < 65536; b++) {
      if ((b & 0x7c00) === 0x7c00 && b & 0x3ff) continue;
      const back = float32ToFloat16Bits(float16BitsToFloat32(b));
      if (back !== b) expect([b, back]).toEqual([b, b]);
    }
  });

  it('rounds every halfway point and its float32 neighbours like the nearest-even reference', () => {
    let checked = 0;
    for (let i = 0; i + 1 < halfLadder.length; i++) {
      const mid = (halfLadder[i]!.value + halfLadder[i + 1]!.value) / 2;
      const bits = float32Bits(mid);
      for (const v of [mid, float32FromBits(bits - 1), float32FromBits(bits + 1)]) {
        for (const x of [v, -v]) {
          const got = float32ToFloat16Bits(x);
          const want = refToHalf(x);
          if (got !== want) expect([x, got.toString(16)]).toEqual([x, want.toString(16)]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(180_000);
  });

  it('matches the reference on random float32 values across the whole exponent range', () => {
    const rnd = lcg(7);
    for (let i = 0; i < 50_000; i++) {
      const x = float32FromBits(Math.floor(rnd() * 2 ** 32));
      const got = float32ToFloat16Bits(x);
      if (Number.isNaN(x)) {
        expect(Number.isNaN(float16BitsToFloat32(got))).toBe(true);
        continue;
      }
      const want = refToHalf(x);
      if (got !== want) expect([x, got]).toEqual([x, want]);
    }
  });

  it('handles edge cases', () => {
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie to even (zero)
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // tie between 1 and 2 -> 2
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('agrees with onnxruntime Cast(float -> float16) on random values and edge cases', async () => {
    const rnd = lcg(11);
    const values: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e6, Infinity, -Infinity, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 6e-8, 1e-10];
    for (let i = 1; i < 200; i++) values.push((halfLadder[i * 150]!.value + halfLadder[i * 150 + 1]!.value) / 2);
    for (let i = 0; i < 4000; i++) values.push((rnd() - 0.5) * Math.pow(2, Math.floor(rnd() * 50) - 30));
    const b = new GraphBuilder('cast');
    const x = b.input('x', 'float32', [values.length]);
    b.output(b.op('Cast', [x], { to: attr.int(10) }, { output: 'y' }), 'float16', [values.length]);
    const model = b.toModel();
    const out = await runGraph(model, { x: { dtype: 'float32', dims: [values.length], data: Float32Array.from(values) } });
    await releaseGraph(model);
    const ours = float32ToFloat16Array(Float32Array.from(values));
    const theirs = out.y!.data as Uint16Array;
    let mismatches = 0;
    for (let i = 0; i < values.length; i++) if (ours[i] !== theirs[i]) mismatches++;
    expect(mismatches).toBe(0);
  });
});

describe('bfloat16', () => {
  /** Nearest bfloat16 by comparing the two candidates that bracket x, ties to even. */
  function refToBf16(x: number): number {
    const b = float32Bits(x);
    const lo = b >>> 16;
    const hi = lo + 1;
    const a = Math.abs(x);
    const dl = a - Math.abs(refBf16Value(lo, true));
    const dh = Math.abs(refBf16Value(hi, true)) - a;
    return dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  }

  it('rounds every halfway point, its neighbours and random values like the reference', () => {
    const rnd = lcg(3);
    const xs: number[] = [];
    for (let bits = 0; bits < 0x7f80; bits++) {
      const mid = float32FromBits((bits << 16) | 0x8000);
      xs.push(mid, -mid, float32FromBits(((bits << 16) | 0x8000) + 1), float32FromBits(((bits << 16) | 0x8000) - 1));
    }
    for (let i = 0; i < 50_000; i++) {
      const x = float32FromBits(Math.floor(rnd() * 2 ** 32));
      if (!Number.isNaN(x)) xs.push(x);
    }
    for (const x of xs) {
      const got = float32ToBfloat16Bits(x);
      const want = refToBf16(x);
      if (got !== want) expect([x, got.toString(16)]).toEqual([x, want.toString(16)]);
    }
    expect(float32ToBfloat16Bits(3.4e38)).toBe(0x7f80); // beyond the largest bfloat16 + half ulp
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true);
  });

  it('decodes all 65536 patterns like the definition', () => {
    for (let b = 0; b < 65536; b++) {
      const got = bfloat16BitsToFloat32(b);
      const want = refBf16Value(b);
      if (Number.isNaN(want)) expect(Number.isNaN(got)).toBe(true);
      else if (got !== want) expect([b, got]).toEqual([b, want]);
    }
  });
});

describe('4-bit packing', () => {
  it('puts element 2i in the low nibble of byte i', () => {
    expect([...pack4Bit([1, 2, 3], false)]).toEqual([0x21, 0x03]);
    expect([...pack4Bit([-1, 7, -8], true)]).toEqual([0x7f, 0x08]);
    expect([...unpack4Bit(Uint8Array.from([0x8f]), 2, true)]).toEqual([-1, -8]);
    expect([...unpack4Bit(Uint8Array.from([0x8f]), 2, false)]).toEqual([15, 8]);
  });

  it('round-trips every value and refuses out-of-range ones naming the element', () => {
    const s = Array.from({ length: 16 }, (_, i) => i - 8);
    expect([...unpack4Bit(pack4Bit(s, true), 16, true)]).toEqual(s);
    const u = Array.from({ length: 17 }, (_, i) => i % 16);
    expect([...unpack4Bit(pack4Bit(u, false), 17, false)]).toEqual(u);
    expect(() => pack4Bit([0, 8], true)).toThrow(/element 1 is 8/);
    expect(() => pack4Bit([-1], false)).toThrow(/uint4/);
  });

  it('matches onnxruntime DequantizeLinear on an int4 initializer', async () => {
    const values = [-8, -3, 0, 1, 7, -1, 5];
    const b = new GraphBuilder('dq4');
    b.addInitializer(makeTensor('w', 'int4', [values.length], pack4Bit(values, true)));
    const scale = b.constF32(1);
    b.output(b.op('DequantizeLinear', ['w', scale], {}, { output: 'y' }), 'float32', [values.length]);
    const model = b.toModel({ opsetImports: [{ domain: '', version: 21 }] });
    const out = await runGraph(model, {});
    await releaseGraph(model);
    expect([...(out.y!.data as Float32Array)]).toEqual(values);
  });
});

describe('convertTensor', () => {
  it('converts float32 to integers with round-half-even and saturation', () => {
    const t = float32Tensor('t', [8], [0.5, 1.5, 2.5, -0.5, -1.5, 300, -300, NaN]);
    expect([...(tensorData(convertTensor(t, 'int8')) as Int8Array)]).toEqual([0, 2, 2, 0, -2, 127, -128, 0]);
    expect([...(tensorData(convertTensor(t, 'uint8')) as Uint8Array)]).toEqual([0, 2, 2, 0, 0, 255, 0, 0]);
    expect([...(tensorData(convertTensor(t, 'int32')) as Int32Array)]).toEqual([0, 2, 2, 0, -2, 300, -300, 0]);
    expect(roundHalfEven(-2.5)).toBe(-2);
    expect(roundHalfEven(3.5)).toBe(4);
  });

  it('rounds half to even like the Math.round definition, signed zeros, huge values and NaN included', () => {
    const slow = (x: number) => {
      const r = Math.round(x);
      return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const values = [0, -0, 0.3, -0.3, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 7.49999, 2 ** 23 + 0.5, 2 ** 51 - 0.5, -(2 ** 51) + 0.5, 2 ** 51 + 0.5, -(2 ** 51) - 1.5, 2 ** 52 + 2, 1e30, -1e30, Infinity, -Infinity, NaN];
    let seed = 3;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const v = (seed / 2 ** 32 - 0.5) * 40;
      values.push(v, Math.round(v * 2) / 2, Math.fround(v));
    }
    for (const v of values) expect(Object.is(roundHalfEven(v), slow(v)), `roundHalfEven(${v})`).toBe(true);
  });

  it('round-trips between float32, float16, bfloat16, int64 and int4 keeping name and shape', () => {
    const t = float32Tensor('w', [2, 3], [1, -2, 0.5, 1024, -7, 3]);
    for (const d of ['float16', 'bfloat16', 'int64', 'int32', 'int8', 'float64'] as const) {
      const c = convertTensor(t, d);
      expect(c.dtype).toBe(d);
      expect(c.dims).toEqual([2, 3]);
      expect(c.name).toBe('w');
      expect([...tensorToFloat32(c)]).toEqual([1, -2, d.startsWith('int') ? 0 : 0.5, d === 'int8' ? 127 : 1024, -7, 3]);
    }
    const small = convertTensor(float32Tensor('q', [5], [-8, -1, 0, 3, 7]), 'int4');
    expect(small.raw.byteLength).toBe(3);
    expect([...tensorToFloat32(small)]).toEqual([-8, -1, 0, 3, 7]);
    expect([...tensorToFloat32(convertTensor(int64Tensor('i', [2], [5, -6]), 'float32'))]).toEqual([5, -6]);
    // float16 -> bfloat16 in a single rounding: 1 + 2^-10 is exact in half and rounds to 1 in bfloat16.
    const h = convertTensor(float32Tensor('h', [1], [1 + 2 ** -10]), 'float16');
    expect(tensorToFloat32(convertTensor(h, 'bfloat16'))[0]).toBe(1);
  });
});
