/**
 * SmoothQuant's smoothing factors (Xiao et al. 2022, "SmoothQuant: Accurate and Efficient
 * Post-Training Quantization for Large Language Models", §4, eq. 4): per input channel j,
 *   s_j = max|X_j|^α / max|W_j|^(1-α),
 * so that X diag(s)^-1 · diag(s) W = X W while the activation outliers move into the
 * weights, which then quantize per output channel and the activations per tensor (W8A8).
 * Layers reading the same input share s: pass the max over all of their weights' row j.
 * As in the authors' code both maxima are floored at 1e-5.
 */
export function smoothQuantScales(actAbsMax: Float32Array, weightRowAbsMax: Float32Array, alpha: number): Float32Array {
  if (actAbsMax.length !== weightRowAbsMax.length) throw new Error(`smoothQuantScales: ${actAbsMax.length} activation maxima for ${weightRowAbsMax.length} weight rows`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`smoothQuantScales: alpha must be in [0, 1], got ${alpha}`);
  const s = new Float32Array(actAbsMax.length);
  for (let j = 0; j < s.length; j++) s[j] = Math.max(actAbsMax[j]!, 1e-5) ** alpha / Math.max(weightRowAbsMax[j]!, 1e-5) ** (1 - alpha);
  return s;
}

/** max_c |W[j, c]| per input channel j of each weight [in, out] (all must share `in`). */
export function weightRowAbsMax(weights: readonly { values: Float32Array; rows: number; cols: number }[]): Float32Array {
  const rows = weights[0]?.rows ?? 0;
  const out = new Float32Array(rows);
  for (const w of weights) {
    if (w.rows !== rows) throw new Error(`weightRowAbsMax: weights with ${w.rows} and ${rows} input features cannot share smoothing factors`);
    for (let j = 0; j < rows; j++) for (let c = 0; c < w.cols; c++) out[j] = Math.max(out[j]!, Math.abs(w.values[j * w.cols + c]!));
  }
  return out;
}
