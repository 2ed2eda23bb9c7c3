import { describe, expect, it } from 'vitest';
import { GptqKernel, gptqKernelBytes, quantizeRowTs, takeErrorsTs } from '../src/quantize/gptq-kernel';

/** Deterministic values in [-amp, amp). */
function values(n: number, seed: number, amp: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 2 * amp);
}

describe('gptq kernels', () => {
  it('the generated module validates', () => {
    expect(WebAssembly.validate(gptqKernelBytes())).toBe(true);
  });

  it('a released kernel serves the next layer of its shape only', () => {
    const a = GptqKernel.acquire(4, 8);
    a.release();
    expect(GptqKernel.acquire(4, 8)).toBe(a);
    expect(GptqKernel.acquire(4, 8)).not.toBe(a);
    a.release();
    expect(GptqKernel.acquire(8, 4)).not.toBe(a);
  });

  // 4-column steps plus a TS tail (cols % 4), and error counts with and without a remainder of 4.
  for (const cols of [16, 37]) {
    it(`take errors: bit-identical to the TS loop (${cols} columns)`, () => {
      const rows = 12;
      const k = GptqKernel.acquire(rows, cols);
      const init = values(rows * cols, 3, 1);
      k.wp.set(init);
      const ref = init.slice();
      const u = values(rows * rows, 5, 0.7);
      for (const [e0, e1, r] of [[0, 7, 9], [2, 6, 6], [1, 2, 11], [0, 0, 3]] as const) {
        k.takeErrors(u, e0, e1, r);
        const f = Float32Array.from({ length: e1 - e0 }, (_, i) => u[(e0 + i) * rows + r]!);
        takeErrorsTs(ref, ref, f, cols, e0, e1, r, 0);
      }
      expect([...k.wp]).toEqual([...ref]);
      expect(k.wp.slice(9 * cols, 10 * cols)).not.toEqual(init.slice(9 * cols, 10 * cols));
    });

    for (const [qmax, z] of [[15, 8], [7, 0]] as const) {
      it(`quantize a row: codes, dequantized values, errors and Σe² as the TS loop (${cols} columns, qmax ${qmax})`, () => {
        const rows = 3;
        const k = GptqKernel.acquire(rows, cols);
        // Wide enough to clip at both ends; exact halves of the scale test the tie rule.
        const init = values(rows * cols, 7, 1.6);
        const scale = Float32Array.from(values(cols, 9, 0.1), (s) => Math.abs(s) + 0.05);
        for (let c = 0; c < cols; c += 3) init[cols + c] = (Math.floor(c / 3) % 7 - 3 + 0.5) * scale[c]!;
        const zero = new Uint8Array(cols).fill(z);
        k.wp.set(init);
        const ref = init.slice();
        const codes = new Uint8Array(rows * cols);
        const deq = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          const got = k.quantizeRow(r, { scale, zero }, qmax, 0.75 + r);
          const want = quantizeRowTs(ref, codes, deq, r, cols, 0, scale, Float32Array.from(zero), qmax, 0.75 + r) / 2;
          expect(got).toBeCloseTo(want, 12);
        }
        expect([...k.codes]).toEqual([...codes]);
        expect([...k.deq]).toEqual([...deq]);
        expect([...k.wp]).toEqual([...ref]);
        expect(new Set(codes).has(0) || new Set(codes).has(qmax)).toBe(true);
      });
    }
  }
});
