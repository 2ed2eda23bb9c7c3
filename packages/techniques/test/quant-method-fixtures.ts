/** Shared inputs for the quantization-method tests: correlated activations, a min/max grid, exact layer error. */
import type { GridFitter, GroupGrid } from '../src/quantize/gptq';
import { gridCode } from '../src/quantize/gptq';
import { seededUniform } from './mlp-fixture';

/** [n, d] activations with correlated channels and a few large-magnitude channels, like a transformer's: X = Z M. */
export function correlatedActivations(n: number, d: number, seed: number, outlierChannels = 0): Float32Array {
  const z = seededUniform(n * d, seed, 1);
  const m = seededUniform(d * d, seed + 7, 1);
  for (let i = 0; i < d; i++) m[i * d + i]! += 2;
  const x = new Float32Array(n * d);
  for (let r = 0; r < n; r++)
    for (let k = 0; k < d; k++) {
      const zk = z[r * d + k]!;
      for (let c = 0; c < d; c++) x[r * d + c]! += zk * m[k * d + c]!;
    }
  for (let c = 0; c < outlierChannels; c++) for (let r = 0; r < n; r++) x[r * d + c * 3]! *= 20;
  return x;
}

/** X^T X in float64 by the definition. */
export function slowGram(x: Float32Array, n: number, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j]! += x[r * d + i]! * x[r * d + j]!;
  return g;
}

/** ||X W - X Ŵ||_F² in float64. */
export function outputError(x: Float32Array, n: number, w: Float32Array, wq: Float32Array, rows: number, cols: number): number {
  let total = 0;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0; k < rows; k++) s += x[r * rows + k]! * (w[k * cols + c]! - wq[k * cols + c]!);
      total += s * s;
    }
  return total;
}

/** Asymmetric min/max grid per column over a block of rows (the usual RTN grid). */
export function minMaxGrid(bits: number): GridFitter {
  const levels = 2 ** bits;
  return {
    levels,
    fit(values: Float32Array, rows: number, cols: number): GroupGrid {
      const scale = new Float32Array(cols);
      const zero = new Float32Array(cols);
      for (let c = 0; c < cols; c++) {
        let lo = 0;
        let hi = 0;
        for (let r = 0; r < rows; r++) {
          const v = values[r * cols + c]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        const s = hi > lo ? (hi - lo) / (levels - 1) : 1;
        scale[c] = s;
        zero[c] = Math.round(-lo / Math.fround(s));
      }
      return { scale, zero };
    },
  };
}

/** Plain round-to-nearest of every group on `grid`: the baseline the methods must beat. */
export function rtn(w: Float32Array, rows: number, cols: number, grid: GridFitter, groupSize = rows): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let g = 0; g < rows; g += groupSize) {
    const { scale, zero } = grid.fit(w.subarray(g * cols, (g + groupSize) * cols), groupSize, cols);
    for (let r = g; r < g + groupSize; r++)
      for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround((gridCode(w[r * cols + c]!, scale[c]!, zero[c]!, grid.levels) - zero[c]!) * scale[c]!);
  }
  return out;
}
