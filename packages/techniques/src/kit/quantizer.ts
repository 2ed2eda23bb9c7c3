/**
 * The quantizer library: uniform b-bit weight quantization (2..8 bits) of a MatMul weight
 * W [in, out], symmetric or asymmetric, with one scale per output channel or per group of
 * `groupSize` consecutive input rows within a channel (r = S(q - Z), Jacob et al. 2018, eq. 1;
 * group-wise scales as in GPTQ, Frantar et al. 2022, sec. 4 "Additional details").
 *
 * Interface:
 *  - `resolveSpec({bits, symmetric, groupSize?, clipRatio?}, rows)` checks a setting
 *    against a weight's row count and returns the concrete grid (`QuantGrid`).
 *  - `groupScale(min, max, grid)` / `quantizeValue(w, scale, zero, grid)`: the per-group
 *    parameters and the rounding of one value, for methods that quantize column by
 *    column with their own updates in between (GPTQ, HQQ).
 *  - `quantizeWeight(w, rows, cols, spec)` -> `QuantizedWeight` (codes, scales, zeros);
 *    `dequantizeWeight(qw)` -> Float32Array exactly as DequantizeLinear/MatMulNBits compute it.
 *  - `signedCodes(qw)`: symmetric codes as signed integers (q - 2^(b-1)).
 *
 * Codes are always stored unsigned in [0, 2^b - 1] with a zero point per group; a symmetric
 * grid has every zero point at 2^(b-1) (MatMulNBits' default), so one layout serves every
 * output format. Scales and zero points are row-major [groups, cols]; the last group may be
 * shorter when groupSize does not divide the rows (ONNX blocked quantization rounds up).
 */
import { roundHalfEven } from '@distillery/onnx';

export interface QuantSpec {
  /** 2..8 */
  bits: number;
  symmetric: boolean;
  /** Input rows per scale within an output channel; undefined = one scale per output channel. */
  groupSize?: number;
  /** Symmetric: scale = clipRatio * max|W| / qmax. Asymmetric: the range is shrunk by it. Default 1. */
  clipRatio?: number;
}

/** A spec resolved against a weight's rows. */
export interface QuantGrid {
  bits: number;
  symmetric: boolean;
  groupSize: number;
  groups: number;
  clipRatio: number;
  /** Unsigned code range [0, qmax]. */
  qmax: number;
  /** Zero point of a symmetric grid: 2^(bits-1). */
  midpoint: number;
}

export interface QuantizedWeight {
  rows: number;
  cols: number;
  bits: number;
  symmetric: boolean;
  /** Rows per scale; equals `rows` for per-channel. */
  groupSize: number;
  /** Row-major [rows, cols] unsigned codes in [0, 2^bits - 1]. */
  codes: Uint8Array;
  /** Row-major [groups, cols]. */
  scales: Float32Array;
  /** Row-major [groups, cols]; all 2^(bits-1) when symmetric. */
  zeros: Uint8Array;
  /**
   * Real-valued zero points, row-major [groups, cols], replacing `zeros` when present (HQQ
   * optimises them continuously). Only MatMulNBits stores them (zero_points of A's type).
   */
  floatZeros?: Float32Array;
}

export class QuantSpecError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = 'QuantSpecError';
  }
}

export function resolveSpec(spec: QuantSpec, rows: number, layer = 'weight'): QuantGrid {
  const { bits, symmetric } = spec;
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new QuantSpecError('bits', `${layer}: bits must be an integer in 2..8, got ${bits}`);
  const groupSize = spec.groupSize ?? rows;
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new QuantSpecError('groupSize', `${layer}: groupSize must be a positive integer, got ${spec.groupSize}`);
  if (groupSize > rows) {
    throw new QuantSpecError('groupSize', `${layer}: groupSize ${groupSize} is larger than the layer's ${rows} input features (one group must fit in a row of W^T)`);
  }
  const clipRatio = spec.clipRatio ?? 1;
  if (!(clipRatio > 0 && clipRatio <= 1)) throw new QuantSpecError('clipRatio', `${layer}: clipRatio must be in (0, 1], got ${clipRatio}`);
  return { bits, symmetric, groupSize, groups: Math.ceil(rows / groupSize), clipRatio, qmax: 2 ** bits - 1, midpoint: 2 ** (bits - 1) };
}

/**
 * Scale and zero point of one group from its extreme values. Symmetric: s = clip * max|w| /
 * (2^(b-1) - 1) computed in float32 as the training graph's fake-quant op does (so QAT's
 * integers reproduce exactly); asymmetric: the range [min, max] widened to contain 0 so that
 * 0 is exact (Jacob et al. 2018, sec. 2.1), s = (max - min) / (2^b - 1), z = round(-min / s).
 */
export function groupScale(min: number, max: number, grid: QuantGrid): { scale: number; zero: number } {
  if (grid.symmetric) {
    const absMax = Math.max(Math.abs(min), Math.abs(max));
    const factor = Math.fround(grid.clipRatio / (grid.midpoint - 1));
    // An all-zero group gets a tiny scale, so 0 / s = 0 instead of NaN.
    return { scale: Math.max(Math.fround(absMax * factor), 1e-30), zero: grid.midpoint };
  }
  const lo = Math.min(min, 0) * grid.clipRatio;
  const hi = Math.max(max, 0) * grid.clipRatio;
  const scale = hi > lo ? Math.fround((hi - lo) / grid.qmax) : 1;
  const zero = Math.min(grid.qmax, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zero };
}

/** The unsigned code of one value: clamp(round_half_even(w / s) + z, 0, 2^b - 1) (ONNX QuantizeLinear). */
export function quantizeValue(w: number, scale: number, zero: number, grid: QuantGrid): number {
  return quantizeCode(w, scale, zero, grid.qmax);
}

/** The code of w on a grid given by its largest code: round half to even of w / scale in float32, plus zero, clamped to [0, qmax]. */
export function quantizeCode(w: number, scale: number, zero: number, qmax: number): number {
  const v = roundHalfEven(Math.fround(w / scale)) + zero;
  // Symmetric grids keep the code range symmetric around z except where clipping reaches -2^(b-1).
  return v < 0 ? 0 : v > qmax ? qmax : v;
}

export function quantizeWeight(w: Float32Array, rows: number, cols: number, spec: QuantSpec, layer = 'weight'): QuantizedWeight {
  if (w.length !== rows * cols) throw new Error(`${layer}: ${w.length} values given for a [${rows}, ${cols}] weight`);
  const grid = resolveSpec(spec, rows, layer);
  const { groupSize, groups } = grid;
  const scales = new Float32Array(groups * cols);
  const zeros = new Uint8Array(groups * cols);
  const codes = new Uint8Array(rows * cols);
  const min = new Float64Array(cols);
  const max = new Float64Array(cols);
  for (let g = 0; g < groups; g++) {
    const r0 = g * groupSize;
    const r1 = Math.min(rows, r0 + groupSize);
    min.fill(Infinity);
    max.fill(-Infinity);
    for (let r = r0; r < r1; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) {
        const v = w[base + c]!;
        if (v < min[c]!) min[c] = v;
        if (v > max[c]!) max[c] = v;
      }
    }
    for (let c = 0; c < cols; c++) {
      const { scale, zero } = groupScale(min[c]!, max[c]!, grid);
      scales[g * cols + c] = scale;
      zeros[g * cols + c] = zero;
    }
    for (let r = r0; r < r1; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) codes[base + c] = quantizeValue(w[base + c]!, scales[g * cols + c]!, zeros[g * cols + c]!, grid);
    }
  }
  return { rows, cols, bits: grid.bits, symmetric: grid.symmetric, groupSize, codes, scales, zeros };
}

/** fp32(s * (q - z)) per element, what DequantizeLinear and MatMulNBits compute. */
export function dequantizeWeight(qw: QuantizedWeight): Float32Array {
  const { rows, cols, groupSize, codes, scales } = qw;
  const zeros = qw.floatZeros ?? qw.zeros;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const g = Math.floor(r / groupSize) * cols;
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround((codes[r * cols + c]! - zeros[g + c]!) * scales[g + c]!);
  }
  return out;
}

/** Symmetric codes as signed integers q - 2^(b-1), in [-2^(b-1), 2^(b-1) - 1]. */
export function signedCodes(qw: QuantizedWeight): Int8Array {
  if (!qw.symmetric) throw new Error('signedCodes: the weight is quantized asymmetrically; its codes are unsigned with zero points');
  const mid = 2 ** (qw.bits - 1);
  const out = new Int8Array(qw.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = qw.codes[i]! - mid;
  return out;
}

/** Stored bits per weight: codes plus scales (float32) and zero points (when asymmetric, `bits` each, or 32 when real-valued). */
export function bitsPerWeight(qw: QuantizedWeight, containerBits = qw.bits): number {
  const groups = qw.scales.length;
  const zeroBits = qw.symmetric ? 0 : groups * (qw.floatZeros ? 32 : qw.bits);
  return (qw.rows * qw.cols * containerBits + groups * 32 + zeroBits) / (qw.rows * qw.cols);
}
