import { describe, expect, it } from 'vitest';
import { createPrng } from '@distillery/nn';
import { pack4Bit, roundHalfEven } from '@distillery/onnx';
import { bitsPerWeight, dequantizeWeight, packBits, quantizeWeight, QuantSpecError, signedCodes, unpackBits, type QuantSpec } from '../../src';

function randn(n: number, seed: number): Float32Array {
  const rng = createPrng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Slow reference straight from the definitions, one group of one column at a time. */
function slowQuantize(w: Float32Array, rows: number, cols: number, spec: QuantSpec) {
  const g = spec.groupSize ?? rows;
  const clip = spec.clipRatio ?? 1;
  const codes: number[] = new Array(rows * cols);
  const scales: number[] = [];
  const zeros: number[] = [];
  for (let r0 = 0; r0 < rows; r0 += g) {
    for (let c = 0; c < cols; c++) {
      const vals: number[] = [];
      for (let r = r0; r < Math.min(rows, r0 + g); r++) vals.push(w[r * cols + c]!);
      let s: number;
      let z: number;
      const qmax = 2 ** spec.bits - 1;
      if (spec.symmetric) {
        const m = Math.max(...vals.map(Math.abs));
        s = Math.max(Math.fround(m * Math.fround(clip / (2 ** (spec.bits - 1) - 1))), 1e-30);
        z = 2 ** (spec.bits - 1);
      } else {
        const lo = Math.min(0, ...vals) * clip;
        const hi = Math.max(0, ...vals) * clip;
        s = hi > lo ? Math.fround((hi - lo) / qmax) : 1; // an all-zero group: any scale, codes all z
        z = Math.min(qmax, Math.max(0, roundHalfEven(-lo / s)));
      }
      scales.push(s);
      zeros.push(z);
      for (let r = r0; r < Math.min(rows, r0 + g); r++) codes[r * cols + c] = Math.min(qmax, Math.max(0, roundHalfEven(Math.fround(w[r * cols + c]! / s)) + z));
    }
  }
  // Scales were pushed group-major, column-minor: the [groups, cols] layout.
  return { codes, scales, zeros };
}

describe('quantizeWeight', () => {
  const rows = 40;
  const cols = 7;
  const cases: QuantSpec[] = [];
  for (const bits of [2, 3, 4, 5, 8]) for (const symmetric of [true, false]) for (const groupSize of [undefined, 8, 16]) cases.push({ bits, symmetric, groupSize });
  for (const spec of cases) {
    it(`matches the slow reference and stays within scale/2 (${spec.bits} bits, ${spec.symmetric ? 'sym' : 'asym'}, group ${spec.groupSize ?? 'per-channel'})`, () => {
      const w = randn(rows * cols, spec.bits * 100 + (spec.groupSize ?? 0) + (spec.symmetric ? 1 : 0));
      for (let r = 0; r < rows; r++) w[r * cols + 3] = 0; // an all-zero column
      const qw = quantizeWeight(w, rows, cols, spec);
      const ref = slowQuantize(w, rows, cols, spec);
      expect(Array.from(qw.codes)).toEqual(ref.codes);
      expect(Array.from(qw.scales)).toEqual(ref.scales.map(Math.fround));
      expect(Array.from(qw.zeros)).toEqual(ref.zeros);
      expect(qw.scales.length).toBe(Math.ceil(rows / (spec.groupSize ?? rows)) * cols);
      const deq = dequantizeWeight(qw);
      const g = qw.groupSize;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const s = qw.scales[Math.floor(r / g) * cols + c]!;
          // The analytic bound of round-to-nearest: half a step, plus fp32 rounding of s * (q - z).
          expect(Math.abs(deq[r * cols + c]! - w[r * cols + c]!)).toBeLessThanOrEqual(s / 2 + 1e-6 * Math.abs(w[r * cols + c]!) + 1e-12);
        }
      }
      expect(deq[3]).toBe(0);
    });
  }

  it('handles a last group shorter than groupSize (ONNX blocked quantization rounds the group count up)', () => {
    const w = randn(20 * 3, 5);
    const qw = quantizeWeight(w, 20, 3, { bits: 4, symmetric: true, groupSize: 8 });
    expect(qw.scales.length).toBe(3 * 3);
    const ref = slowQuantize(w, 20, 3, { bits: 4, symmetric: true, groupSize: 8 });
    expect(Array.from(qw.codes)).toEqual(ref.codes);
    expect(Array.from(qw.scales)).toEqual(ref.scales.map(Math.fround));
  });

  it('clips with clipRatio < 1: elements inside the range keep the half-step bound, the rest saturate', () => {
    const w = randn(32 * 4, 9);
    const qw = quantizeWeight(w, 32, 4, { bits: 4, symmetric: true, clipRatio: 0.6 });
    const deq = dequantizeWeight(qw);
    let saturated = 0;
    for (let i = 0; i < w.length; i++) {
      const s = qw.scales[i % 4]!;
      const q = signedCodes(qw)[i]!;
      if (q === 7 || q === -8) saturated++;
      if (Math.abs(w[i]!) <= 7 * s) expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-6);
      else expect(Math.abs(deq[i]!)).toBeGreaterThanOrEqual(7 * s * (1 - 1e-6));
    }
    expect(saturated).toBeGreaterThan(0);
  });

  it('symmetric codes are signed around 2^(b-1); the column maximum maps to ±qmax', () => {
    const w = randn(16 * 5, 3);
    const qw = quantizeWeight(w, 16, 5, { bits: 8, symmetric: true });
    const q = signedCodes(qw);
    for (let c = 0; c < 5; c++) expect(Math.max(...Array.from({ length: 16 }, (_, r) => Math.abs(q[r * 5 + c]!)))).toBe(127);
    expect(() => signedCodes(quantizeWeight(w, 16, 5, { bits: 8, symmetric: false }))).toThrow(/asymmetrically/);
  });

  it('refuses bad settings naming the parameter and the layer', () => {
    const w = randn(16 * 2, 1);
    const err = (spec: QuantSpec) => {
      try {
        quantizeWeight(w, 16, 2, spec, 'layers.0.q_proj');
      } catch (e) {
        return e as QuantSpecError;
      }
      throw new Error('expected an error');
    };
    expect(err({ bits: 4, symmetric: true, groupSize: 32 })).toMatchObject({ parameter: 'groupSize', message: expect.stringMatching(/layers\.0\.q_proj: groupSize 32 is larger than the layer's 16 input features/) });
    expect(err({ bits: 9, symmetric: true })).toMatchObject({ parameter: 'bits' });
    expect(err({ bits: 1, symmetric: true })).toMatchObject({ parameter: 'bits' });
    expect(err({ bits: 4, symmetric: true, clipRatio: 0 })).toMatchObject({ parameter: 'clipRatio' });
  });

  it('bitsPerWeight counts scales and zero points: 4-bit g64 symmetric is 4.5', () => {
    const qw = quantizeWeight(randn(256 * 8, 2), 256, 8, { bits: 4, symmetric: true, groupSize: 64 });
    expect(bitsPerWeight(qw)).toBe(4.5);
    const asym = quantizeWeight(randn(256 * 8, 2), 256, 8, { bits: 4, symmetric: false, groupSize: 64 });
    expect(bitsPerWeight(asym)).toBe(4 + 32 / 64 + 4 / 64);
  });
});

describe('packBits / unpackBits', () => {
  for (const bits of [2, 3, 4, 5, 6, 7, 8]) {
    it(`round-trips every ${bits}-bit code exactly, for counts that do not fill the last byte`, () => {
      const rng = createPrng(bits);
      for (const count of [1, 7, 8, 9, 33, 1000]) {
        const codes = Uint8Array.from({ length: count }, (_, i) => (i < 2 ? [0, 2 ** bits - 1][i]! : Math.floor(rng.next() * 2 ** bits)));
        const packed = packBits(codes, bits);
        expect(packed.length).toBe(Math.ceil((count * bits) / 8));
        expect(Array.from(unpackBits(packed, count, bits))).toEqual(Array.from(codes));
      }
    });
  }

  it('4-bit packing is the ONNX uint4 layout (low nibble first); 2-bit puts code 0 in the lowest bits', () => {
    const codes = [1, 2, 3, 15, 0, 9, 7];
    expect(Array.from(packBits(codes, 4))).toEqual(Array.from(pack4Bit(codes, false)));
    expect(Array.from(packBits([1, 2, 3, 0], 2))).toEqual([0b00111001]);
  });

  it('refuses codes outside the range', () => {
    expect(() => packBits([0, 4], 2)).toThrow(/code 1 is 4, outside \[0, 3\]/);
  });
});
