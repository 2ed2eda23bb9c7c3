/**
 * HQQ, half-quadratic quantization (Badri & Shaji 2023, "Half-Quadratic Quantization of
 * Large Machine Learning Models", eq. 4-7), calibration-free: with the min/max scale s of
 * each group fixed, the zero point z minimises the lp error (p < 1, robust to the heavy
 * tails of weights) ||W - (Q_z(W) - z) s||_p^p by half-quadratic splitting, alternating
 *   W_e ← shrink_p(W - W_r, β)                 (generalised soft-thresholding, eq. 6)
 *   z   ← mean(W_q - (W - W_e) / s)            (closed form, eq. 7; mean over the group)
 *   β   ← κ β
 * where W_q = clamp(round(W / s + z)) and W_r = (W_q - z) s. Defaults are those of ONNX
 * Runtime's HQQ weight-only quantizer (p = 0.7, β = 10, κ = 1.01, 20 iterations, stop when
 * the mean |W - W_r| stops falling; start from integer zero points, its round_zero), so the
 * start is the kit's min/max RTN grid; unlike it we keep the best iterate, not the one after.
 * Zero points stay real-valued (MatMulNBits takes float zero points).
 */
import { roundHalfEven } from '@distillery/onnx';
import { groupScale, resolveSpec, type QuantSpec } from '../kit/quantizer';

export interface HqqOptions {
  /** Bits and group; HQQ's grid is asymmetric, so `symmetric` must be false. */
  spec: QuantSpec;
  lpNorm?: number;
  beta?: number;
  kappa?: number;
  iterations?: number;
  layer?: string;
}

export interface HqqResult {
  rows: number;
  cols: number;
  bits: number;
  groupSize: number;
  /** Row-major [rows, cols] codes in [0, 2^bits - 1]. */
  codes: Uint8Array;
  /** Row-major [groups, cols]. */
  scales: Float32Array;
  /** Row-major [groups, cols], real-valued. */
  zeros: Float32Array;
  dequantized: Float32Array;
  /** mean |W - Ŵ| before the first and after the best iteration. */
  initialError: number;
  error: number;
  iterations: number;
}

/** sign(x) · max(|x| - |x|^(p-1) / β, 0): the proximal operator of |x|^p / β (eq. 6). */
export function shrinkLp(x: number, beta: number, p: number): number {
  const a = Math.abs(x);
  const t = a - (p === 1 ? 1 : (a + 1e-8) ** (p - 1)) / beta;
  return t > 0 ? Math.sign(x) * t : 0;
}

interface Grid {
  codes: Uint8Array;
  deq: Float32Array;
  error: number;
}

export function hqq(w: Float32Array, rows: number, cols: number, opts: HqqOptions): HqqResult {
  const layer = opts.layer ?? 'weight';
  if (w.length !== rows * cols) throw new Error(`${layer}: hqq got ${w.length} weight values, expected ${rows}x${cols}`);
  if (opts.spec.symmetric) throw new Error(`${layer}: hqq optimises zero points, so it needs symmetric: false`);
  const grid = resolveSpec(opts.spec, rows, layer);
  const p = opts.lpNorm ?? 0.7;
  if (!(p > 0 && p <= 1)) throw new Error(`${layer}: hqq lpNorm must be in (0, 1], got ${p}`);
  let beta = opts.beta ?? 10;
  const kappa = opts.kappa ?? 1.01;
  const iterations = opts.iterations ?? 20;
  const { groupSize, groups, qmax } = grid;
  const groupOf = (r: number) => Math.floor(r / groupSize);

  // Start from the min/max grid with integer zero points (ORT's round_zero), i.e. plain RTN.
  const scales = new Float32Array(groups * cols);
  let zeros = new Float32Array(groups * cols);
  for (let g = 0; g < groups; g++) {
    for (let c = 0; c < cols; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let r = g * groupSize; r < Math.min(rows, (g + 1) * groupSize); r++) {
        const v = w[r * cols + c]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const start = groupScale(lo, hi, grid);
      scales[g * cols + c] = start.scale;
      zeros[g * cols + c] = start.zero;
    }
  }

  const apply = (z: Float32Array): Grid => {
    const codes = new Uint8Array(rows * cols);
    const deq = new Float32Array(rows * cols);
    let err = 0;
    for (let r = 0; r < rows; r++) {
      const gb = groupOf(r) * cols;
      for (let c = 0; c < cols; c++) {
        const s = scales[gb + c]!;
        const zz = z[gb + c]!;
        const q = Math.min(qmax, Math.max(0, roundHalfEven(w[r * cols + c]! / s + zz)));
        codes[r * cols + c] = q;
        const d = Math.fround((q - zz) * s);
        deq[r * cols + c] = d;
        err += Math.abs(w[r * cols + c]! - d);
      }
    }
    return { codes, deq, error: err / (rows * cols) };
  };

  let current = apply(zeros);
  const initialError = current.error;
  let best = { grid: current, zeros };
  let done = 0;
  for (let it = 0; it < iterations; it++) {
    const next = new Float32Array(groups * cols);
    const count = new Float64Array(groups * cols);
    for (let r = 0; r < rows; r++) {
      const gb = groupOf(r) * cols;
      for (let c = 0; c < cols; c++) {
        const x = w[r * cols + c]!;
        const we = shrinkLp(x - current.deq[r * cols + c]!, beta, p);
        next[gb + c]! += current.codes[r * cols + c]! - (x - we) / scales[gb + c]!;
        count[gb + c]! += 1;
      }
    }
    for (let i = 0; i < next.length; i++) next[i]! /= count[i]!;
    beta *= kappa;
    zeros = next;
    current = apply(zeros);
    done = it + 1;
    if (current.error < best.grid.error) best = { grid: current, zeros };
    else break;
  }
  return {
    rows,
    cols,
    bits: grid.bits,
    groupSize,
    codes: best.grid.codes,
    scales,
    zeros: best.zeros,
    dequantized: best.grid.deq,
    initialError,
    error: best.grid.error,
    iterations: done,
  };
}
