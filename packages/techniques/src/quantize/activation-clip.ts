/**
 * Activation-weighted clipping for round-to-nearest: per layer, the clip ratio (from a
 * short list) whose quantized weight Q minimises sum_i h_i sum_j (W_ij - Q_ij)^2, with
 * h_i = E[x_i^2] over calibration activations. That is the layer output error
 * E||x(W - Q)||^2 (GPTQ's objective, Frantar et al. 2022, eq. 1) with the Hessian X^T X
 * replaced by its diagonal, the importance weighting llama.cpp's imatrix uses.
 */
import { dequantizeWeight, quantizeWeight, type QuantSpec, type QuantizedWeight } from '../kit/quantizer';

export const CLIP_CANDIDATES = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7] as const;

/** sum_i h_i sum_j (W_ij - Q_ij)^2 for W [rows, cols] and per-row importance h [rows]. */
export function weightedError(w: Float32Array, q: Float32Array, rows: number, cols: number, importance: ArrayLike<number>): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let row = 0;
    for (let c = 0; c < cols; c++) {
      const d = w[r * cols + c]! - q[r * cols + c]!;
      row += d * d;
    }
    total += importance[r]! * row;
  }
  return total;
}

export function chooseClip(
  w: Float32Array,
  rows: number,
  cols: number,
  spec: QuantSpec,
  importance: ArrayLike<number>,
  layer: string,
  candidates: readonly number[] = CLIP_CANDIDATES,
): { weight: QuantizedWeight; clipRatio: number; error: number; errorUnclipped: number } {
  let best: { weight: QuantizedWeight; clipRatio: number; error: number } | undefined;
  let errorUnclipped = NaN;
  for (const clipRatio of candidates) {
    const weight = quantizeWeight(w, rows, cols, { ...spec, clipRatio }, layer);
    const error = weightedError(w, dequantizeWeight(weight), rows, cols, importance);
    if (clipRatio === 1) errorUnclipped = error;
    if (!best || error < best.error) best = { weight, clipRatio, error };
  }
  return { ...best!, errorUnclipped };
}
