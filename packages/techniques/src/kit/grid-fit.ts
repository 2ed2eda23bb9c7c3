/**
 * The grid (scale and zero point per output column) of a group of weight rows: the kit's
 * min/max grid, or with `shrinks` the min/max range shrunk by the factor with the least
 * error Σ_r h_r |w - ŵ|^p per column (the `mse` option of GPTQ's reference quantizer,
 * Frantar et al. 2022, code release: shrink grid 1, 0.99, ..., 0.2 and p = 2.4; h_r, an
 * optional per-row importance such as the Hessian diagonal, weights the rows), or with
 * `fitGroupGridByGram` the least share of the layer output error dᵀ G d per column, G the
 * group's input Gram matrix and d = w - ŵ (AWQ's clip search, Lin et al. 2023, code
 * release `auto_clip`), all candidates in one ORT product. A candidate f is either the range
 * [f·min, f·max] (`range`) or, as `auto_clip` does, the min/max of the weights clamped to
 * ±f·max|w| (`clamp`): only the side beyond f·max|w| moves. Symmetric grids get the same
 * scale either way; on an asymmetric grid `clamp` keeps the shorter side's end.
 */
import { gemm } from '@distillery/onnx';
import { groupScale, quantizeValue, resolveSpec, type QuantGrid, type QuantizedWeight, type QuantSpec } from './quantizer';

export interface GridFitOptions {
  /** Candidate factors in (0, 1] for the min/max range; omitted = the unshrunk grid only. */
  shrinks?: readonly number[];
  /** Exponent p of the error; default 2.4 as the reference code. */
  norm?: number;
  /** Per-row weights h_r of the error (>= 0), length n. */
  rowWeights?: ArrayLike<number>;
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

/** Per column, the smallest and largest of `n` rows. */
function columnRange(values: Float32Array, n: number, cols: number): { lo: Float64Array; hi: Float64Array } {
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
  return { lo, hi };
}

/** How a shrink factor f moves a group's range (see the header). */
export type ShrinkForm = 'range' | 'clamp';

/** The grid of every column for the range shrunk by f. */
function shrunkGrid(lo: Float64Array, hi: Float64Array, f: number, grid: QuantGrid, form: ShrinkForm = 'range'): GroupGrid {
  const cols = lo.length;
  const scale = new Float32Array(cols);
  const zero = new Uint8Array(cols);
  for (let c = 0; c < cols; c++) {
    const m = f * Math.max(-lo[c]!, hi[c]!);
    const g = form === 'range' ? groupScale(f * lo[c]!, f * hi[c]!, grid) : groupScale(Math.max(lo[c]!, -m), Math.min(hi[c]!, m), grid);
    scale[c] = g.scale;
    zero[c] = g.zero;
  }
  return { scale, zero };
}

/** Per column, the candidate with the least error (the first on ties, i.e. the least shrink). */
function pickBest(candidates: GroupGrid[], errors: Float64Array[], cols: number): GroupGrid {
  const scale = new Float32Array(cols);
  const zero = new Uint8Array(cols);
  for (let c = 0; c < cols; c++) {
    let k = 0;
    for (let j = 1; j < candidates.length; j++) if (errors[j]![c]! < errors[k]![c]!) k = j;
    scale[c] = candidates[k]!.scale[c]!;
    zero[c] = candidates[k]!.zero[c]!;
  }
  return { scale, zero };
}

/** Grid of `n` rows of row-major values [n, cols] (only the first n * cols values are read). */
export function fitGroupGrid(values: Float32Array, n: number, cols: number, grid: QuantGrid, opts: GridFitOptions = {}): GroupGrid {
  const { lo, hi } = columnRange(values, n, cols);
  const shrinks = opts.shrinks ?? [1];
  const candidates = shrinks.map((f) => shrunkGrid(lo, hi, f, grid));
  if (candidates.length === 1) return candidates[0]!;
  const p = opts.norm ?? 2.4;
  const errors = candidates.map(({ scale: s, zero: z }) => {
    const err = new Float64Array(cols);
    for (let r = 0; r < n; r++) {
      const row = r * cols;
      const h = opts.rowWeights ? opts.rowWeights[r]! : 1;
      for (let c = 0; c < cols; c++) {
        const x = values[row + c]!;
        const d = Math.abs(x - (quantizeValue(x, s[c]!, z[c]!, grid) - z[c]!) * s[c]!);
        err[c]! += h * (p === 2 ? d * d : d ** p);
      }
    }
    return err;
  });
  return pickBest(candidates, errors, cols);
}

/** Grid of `n` rows with the least dᵀ G d per column among the shrinks; G is the group's [n, n] input Gram matrix. */
export async function fitGroupGridByGram(
  values: Float32Array,
  n: number,
  cols: number,
  grid: QuantGrid,
  shrinks: readonly number[],
  gram: Float32Array,
  form: ShrinkForm = 'range',
): Promise<GroupGrid> {
  if (gram.length !== n * n) throw new Error(`fitGroupGridByGram: a Gram matrix of ${gram.length} values for a group of ${n} rows`);
  const { lo, hi } = columnRange(values, n, cols);
  const candidates = shrinks.map((f) => shrunkGrid(lo, hi, f, grid, form));
  const k = candidates.length;
  // D [n, k * cols]: each candidate's rounding errors side by side, so one product G D serves all.
  const d = new Float32Array(n * k * cols);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const { scale: s, zero: z } = candidates[j]!;
      const out = (r * k + j) * cols;
      for (let c = 0; c < cols; c++) {
        const x = values[r * cols + c]!;
        d[out + c] = x - (quantizeValue(x, s[c]!, z[c]!, grid) - z[c]!) * s[c]!;
      }
    }
  }
  const gd = (await gemm({ data: gram, rows: n, cols: n }, { data: d, rows: n, cols: k * cols })).data;
  const errors = candidates.map(() => new Float64Array(cols));
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < k; j++) {
      const err = errors[j]!;
      const at = (r * k + j) * cols;
      for (let c = 0; c < cols; c++) err[c]! += d[at + c]! * gd[at + c]!;
    }
  }
  return pickBest(candidates, errors, cols);
}

/**
 * A whole weight [rows, cols] quantized with one grid per group from `fit` (given the
 * group's values, first row and row count), then rounded to nearest on it.
 */
export async function quantizeWithGrids(
  w: Float32Array,
  rows: number,
  cols: number,
  spec: QuantSpec,
  fit: (values: Float32Array, r0: number, n: number, grid: QuantGrid) => GroupGrid | Promise<GroupGrid>,
  layer = 'weight',
): Promise<QuantizedWeight> {
  if (w.length !== rows * cols) throw new Error(`${layer}: ${w.length} values given for a [${rows}, ${cols}] weight`);
  const grid = resolveSpec(spec, rows, layer);
  const { groupSize, groups } = grid;
  const scales = new Float32Array(groups * cols);
  const zeros = new Uint8Array(groups * cols);
  const codes = new Uint8Array(rows * cols);
  for (let g = 0; g < groups; g++) {
    const r0 = g * groupSize;
    const n = Math.min(rows, r0 + groupSize) - r0;
    const gg = await fit(w.subarray(r0 * cols, (r0 + n) * cols), r0, n, grid);
    scales.set(gg.scale, g * cols);
    zeros.set(gg.zero, g * cols);
    for (let r = r0; r < r0 + n; r++) for (let c = 0; c < cols; c++) codes[r * cols + c] = quantizeValue(w[r * cols + c]!, gg.scale[c]!, gg.zero[c]!, grid);
  }
  return { rows, cols, bits: grid.bits, symmetric: grid.symmetric, groupSize, codes, scales, zeros };
}
