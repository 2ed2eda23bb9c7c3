/**
 * The grid (scale and zero point per output column) of a group of weight rows: the kit's
 * min/max grid, or with `shrinks` the min/max range shrunk by the factor with the least
 * error Σ_r h_r |w - ŵ|^p per column (the `mse` option of GPTQ's reference quantizer,
 * Frantar et al. 2022, code release: shrink grid 1, 0.99, ..., 0.2 and p = 2.4; h_r, an
 * optional per-row importance such as the Hessian diagonal, weights the rows).
 */
import { groupScale, quantizeValue, resolveSpec, type QuantGrid, type QuantizedWeight, type QuantSpec } from './quantizer';

export interface GridFitOptions {
  /** Candidate factors in (0, 1] for the min/max range; omitted = the unshrunk grid only. */
  shrinks?: readonly number[];
  /** Exponent p of the error; default 2.4 as the reference code. */
  norm?: number;
  /** Per-row weights h_r of the error (>= 0), length n. */
  rowWeights?: ArrayLike<number>;
  /**
   * The group's input Gram matrix G [n, n] (row-major): the error becomes the group's share
   * of the layer output error, dᵀ G d per column with d = w - ŵ (AWQ's clip search, Lin et
   * al. 2023, code release `auto_clip`); `norm` and `rowWeights` are then ignored.
   */
  gram?: ArrayLike<number>;
}

export interface GroupGrid {
  scale: Float32Array;
  zero: Uint8Array;
}

/** Factors 1, 1 - step, ..., down to `min` (the reference: step 0.01, min 0.2). */
export function shrinkCandidates(min: number, step: number): number[] {
  if (!(min > 0 && min <= 1) || !(step > 0)) throw new Error(`shrinkCandidates: need 0 < min <= 1 and step > 0, got min ${min}, step ${step}`);
  const out: number[] = [];
  for (let k = 0; 1 - k * step >= min - 1e-12; k++) out.push(Math.round((1 - k * step) * 1e9) / 1e9);
  return out;
}

/** err[c] = dᵀ G d for column c, d the rounding error of `values` on the grid (s, z). */
function gramError(values: Float32Array, n: number, cols: number, grid: QuantGrid, s: Float32Array, z: Uint8Array, gram: ArrayLike<number>, err: Float64Array): void {
  const d = new Float64Array(n * cols);
  for (let r = 0; r < n; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) {
      const x = values[row + c]!;
      d[row + c] = x - (quantizeValue(x, s[c]!, z[c]!, grid) - z[c]!) * s[c]!;
    }
  }
  err.fill(0);
  const t = new Float64Array(cols);
  for (let i = 0; i < n; i++) {
    t.fill(0);
    for (let j = 0; j < n; j++) {
      const g = gram[i * n + j]!;
      if (g === 0) continue;
      const row = j * cols;
      for (let c = 0; c < cols; c++) t[c]! += g * d[row + c]!;
    }
    const row = i * cols;
    for (let c = 0; c < cols; c++) err[c]! += d[row + c]! * t[c]!;
  }
}

/** Grid of `n` rows of row-major values [n, cols] (only the first n * cols values are read). */
export function fitGroupGrid(values: Float32Array, n: number, cols: number, grid: QuantGrid, opts: GridFitOptions = {}): GroupGrid {
  const lo = new Float64Array(cols).fill(Infinity);
  const hi = new Float64Array(cols).fill(-Infinity);
  for (let r = 0; r < n; r++) {
    const row = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = values[row + c]!;
      if (v < lo[c]!) lo[c] = v;
      if (v > hi[c]!) hi[c] = v;
    }
  }
  const scale = new Float32Array(cols);
  const zero = new Uint8Array(cols);
  const shrinks = opts.shrinks ?? [1];
  const p = opts.norm ?? 2.4;
  const best = new Float64Array(cols).fill(Infinity);
  const s = new Float32Array(cols);
  const z = new Uint8Array(cols);
  const err = new Float64Array(cols);
  for (const f of shrinks) {
    for (let c = 0; c < cols; c++) {
      const g = groupScale(f * lo[c]!, f * hi[c]!, grid);
      s[c] = g.scale;
      z[c] = g.zero;
    }
    if (shrinks.length > 1 && opts.gram) gramError(values, n, cols, grid, s, z, opts.gram, err);
    else if (shrinks.length > 1) {
      err.fill(0);
      for (let r = 0; r < n; r++) {
        const row = r * cols;
        const h = opts.rowWeights ? opts.rowWeights[r]! : 1;
        for (let c = 0; c < cols; c++) {
          const x = values[row + c]!;
          const d = Math.abs(x - (quantizeValue(x, s[c]!, z[c]!, grid) - z[c]!) * s[c]!);
          err[c]! += h * (p === 2 ? d * d : d ** p);
        }
      }
    }
    for (let c = 0; c < cols; c++) {
      if (err[c]! < best[c]!) {
        best[c] = err[c]!;
        scale[c] = s[c]!;
        zero[c] = z[c]!;
      }
    }
  }
  return { scale, zero };
}

/**
 * A whole weight [rows, cols] quantized with one grid per group from `fit` (given the
 * group's values, first row and row count), then rounded to nearest on it.
 */
export function quantizeWithGrids(w: Float32Array, rows: number, cols: number, spec: QuantSpec, fit: (values: Float32Array, r0: number, n: number, grid: QuantGrid) => GroupGrid, layer = 'weight'): QuantizedWeight {
  if (w.length !== rows * cols) throw new Error(`${layer}: ${w.length} values given for a [${rows}, ${cols}] weight`);
  const grid = resolveSpec(spec, rows, layer);
  const { groupSize, groups } = grid;
  const scales = new Float32Array(groups * cols);
  const zeros = new Uint8Array(groups * cols);
  const codes = new Uint8Array(rows * cols);
  for (let g = 0; g < groups; g++) {
    const r0 = g * groupSize;
    const n = Math.min(rows, r0 + groupSize) - r0;
    const gg = fit(w.subarray(r0 * cols, (r0 + n) * cols), r0, n, grid);
    scales.set(gg.scale, g * cols);
    zeros.set(gg.zero, g * cols);
    for (let r = r0; r < r0 + n; r++) for (let c = 0; c < cols; c++) codes[r * cols + c] = quantizeValue(w[r * cols + c]!, gg.scale[c]!, gg.zero[c]!, grid);
  }
  return { rows, cols, bits: grid.bits, symmetric: grid.symmetric, groupSize, codes, scales, zeros };
}
