/**
 * ASVD (Yuan et al. 2023, "ASVD: Activation-aware Singular Value Decomposition for
 * Compressing Large Language Models", sec. 3.2): scale input channel j by
 * S_jj = (mean_t |x_tj|)^alpha before the SVD, so channels that carry large activations
 * are approximated more closely; x W = (x S^-1)(S W), and S^-1 is folded into the first factor.
 */
import type { InputTransform } from './factorize';

/** S from per-input-channel mean absolute activations; channels that never fire get the smallest positive scale. */
export function asvdTransform(meanAbs: Float32Array, alpha: number, what: string): InputTransform {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`${what}: alpha must be in (0, 1], got ${alpha}`);
  let floor = Infinity;
  for (const v of meanAbs) if (v > 0 && v < floor) floor = v;
  if (!Number.isFinite(floor)) throw new Error(`${what}: every input channel is zero over the calibration data`);
  const s = Float64Array.from(meanAbs, (v) => Math.pow(v > 0 ? v : floor, alpha));
  return {
    apply(w, rows, cols) {
      if (rows !== s.length) throw new Error(`${what}: ${s.length} activation scales for a weight with ${rows} inputs`);
      const out = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = s[r]! * w[r * cols + c]!;
      return out;
    },
    invert(a, rows, k) {
      const out = new Float32Array(rows * k);
      for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) out[r * k + j] = a[r * k + j]! / s[r]!;
      return out;
    },
  };
}
