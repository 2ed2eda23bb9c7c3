/** Shared inputs for the quantization-method tests: correlated activations, a min/max grid, exact layer error. */
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

