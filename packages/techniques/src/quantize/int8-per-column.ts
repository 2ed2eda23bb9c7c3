/**
 * Symmetric round-to-nearest int8 quantization with one scale per output column of a
 * [in, out] weight: r = S(q - Z) with Z = 0 and S = absmax/127 per column (Jacob et al. 2018, eq. 1;
 * the RTN baseline of GPTQ, Frantar et al. 2022 §2). Pure numerics on typed arrays.
 */

import { roundHalfEven } from '@distillery/onnx';

export interface Int8PerColumn {
  /** Row-major [rows, cols] codes in [-127, 127]. */
  q: Int8Array;
  /** One float32 scale per column; w ≈ q * scale. */
  scales: Float32Array;
}

export function quantizeInt8PerColumn(w: Float32Array, rows: number, cols: number): Int8PerColumn {
  if (w.length !== rows * cols) throw new Error(`weight has ${w.length} values, expected ${rows}x${cols}`);
  const absmax = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[base + c]!);
      if (a > absmax[c]!) absmax[c] = a;
    }
  }
  const scales = new Float32Array(cols);
  // An all-zero column gets scale 1 (its codes are 0 either way) to avoid dividing by 0.
  for (let c = 0; c < cols; c++) scales[c] = absmax[c]! > 0 ? absmax[c]! / 127 : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      // Half to even, as ONNX QuantizeLinear rounds, so codes match ORT's own quantizer.
      const v = roundHalfEven(w[base + c]! / scales[c]!);
      // fp32 rounding of the scale can push |w|/scale a hair past 127.
      q[base + c] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  }
  return { q, scales };
}

/** What DequantizeLinear(axis=1, no zero point) computes: fp32(q * scale). */
export function dequantizeInt8PerColumn(q: Int8Array, scales: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = q[r * cols + c]! * scales[c]!;
  return out;
}
