/**
 * Symmetric b-bit weight quantization of W [in, out] with one scale per output column or
 * per group of `groupSize` input rows within a column, exactly as the training graph's
 * fake-quant op computes it in float32 (s = max(clipRatio * max|W| / qmax, 1e-30),
 * q = clamp(round_half_even(W / s), -qmax - 1, qmax)), so the emitted integer weights
 * are the ones QAT trained against (Jacob et al. 2018, sec. 2.1, with zero point 0).
 */
import { fakeQuantRange } from '@distillery/nn';
import { roundHalfEven } from '@distillery/onnx';

export interface SymmetricQuant {
  /** [in * out] integers in [-qmax - 1, qmax]. */
  q: Int8Array;
  /** [in / groupSize, out] (one row when per channel). */
  scales: Float32Array;
  groups: number;
}

export function quantizeSymmetric(w: Float32Array, rows: number, cols: number, bits: number, groupSize = rows, clipRatio = 1): SymmetricQuant {
  const { lo, hi } = fakeQuantRange(bits);
  if (!Number.isInteger(groupSize) || groupSize < 1 || rows % groupSize !== 0) throw new Error(`groupSize ${groupSize} does not divide ${rows} rows`);
  const groups = rows / groupSize;
  const scales = new Float32Array(groups * cols);
  const q = new Int8Array(rows * cols);
  const factor = Math.fround(clipRatio / hi);
  for (let g = 0; g < groups; g++) {
    for (let c = 0; c < cols; c++) {
      let max = 0;
      for (let r = g * groupSize; r < (g + 1) * groupSize; r++) max = Math.max(max, Math.abs(w[r * cols + c]!));
      const s = Math.max(Math.fround(max * factor), 1e-30);
      scales[g * cols + c] = s;
      for (let r = g * groupSize; r < (g + 1) * groupSize; r++) {
        const v = roundHalfEven(Math.fround(w[r * cols + c]! / Math.fround(s)));
        q[r * cols + c] = Math.min(hi, Math.max(lo, v));
      }
    }
  }
  return { q, scales, groups };
}

/** s * q, for tests and for evaluating the rounding error. */
export function dequantizeSymmetric(x: SymmetricQuant, rows: number, cols: number): Float32Array {
  const groupSize = rows / x.groups;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const g = Math.floor(r / groupSize);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(x.q[r * cols + c]! * x.scales[g * cols + c]!);
  }
  return out;
}
