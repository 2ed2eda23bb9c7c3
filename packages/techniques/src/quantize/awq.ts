/**
 * AWQ's scale search (Lin et al. 2023, "AWQ: Activation-aware Weight Quantization for LLM
 * Compression and Acceleration", §3.2, eq. 4-5): protect the input channels that see large
 * activations by scaling them up before rounding, s = s_X^α with s_X = mean |x| per input
 * channel, and pick α in [0, 1] by grid search minimising the layer's output error
 *   L(s) = || Q(diag(s) W) (diag(s)^-1 x) - W x ||²   (our W is [in, out], y = x W).
 * With Δ = diag(s)^-1 Q(diag(s) W) - W, L = Σ_c Δ_cᵀ (XᵀX) Δ_c, so the calibration Gram
 * matrix replaces the activations and each candidate costs one ORT product. As in the
 * authors' code, s is normalised by sqrt(max s · min s) and s_X is floored at 1e-4.
 *
 * Layers that read the same input (q/k/v, gate/up) must share s to fold 1/s into the op
 * before them: search them together by concatenating their weights along `out`.
 */
import { gemm } from '@distillery/onnx';
import { dequantizeWeight, quantizeWeight, type QuantSpec } from '../kit/quantizer';

export interface ActivationStats {
  /** XᵀX of the layer's calibration inputs, row-major [in, in]. */
  gram: Float32Array;
  /** mean |x| per input channel, [in]. */
  meanAbs: Float32Array;
}

export interface AwqOptions {
  spec: QuantSpec;
  /** α is tried at 0, 1/n, ..., 1; the paper's grid has n = 20. */
  gridPoints?: number;
  layer?: string;
  /**
   * The error of the effective weights diag(s)^-1 Q(diag(s) W) measured elsewhere (the block
   * output, awq-block-loss.ts); omitted = the layer output error from the Gram matrix.
   */
  outputLoss?: (effective: Float32Array) => Promise<number>;
}

export interface AwqSearchResult {
  alpha: number;
  /** Per input channel: quantize diag(s) W, divide the input by s. */
  scales: Float32Array;
  /** Output error of each candidate α; α = 0 (s = 1) is plain round-to-nearest. */
  losses: { alpha: number; loss: number }[];
}

/** s = s_X^α / sqrt(max · min) for one α. */
export function awqScales(meanAbs: Float32Array, alpha: number): Float32Array {
  const s = new Float32Array(meanAbs.length);
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < s.length; i++) {
    const v = Math.max(meanAbs[i]!, 1e-4) ** alpha;
    s[i] = v;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const norm = Math.sqrt(max * min);
  for (let i = 0; i < s.length; i++) s[i]! /= norm;
  return s;
}

/** diag(s)^-1 · dequant(Q(diag(s) W)): the effective weight the scaled layer computes with. */
export function awqEffectiveWeight(w: Float32Array, rows: number, cols: number, s: Float32Array, spec: QuantSpec, layer?: string): Float32Array {
  const scaled = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scaled[r * cols + c] = w[r * cols + c]! * s[r]!;
  const deq = dequantizeWeight(quantizeWeight(scaled, rows, cols, spec, layer));
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) deq[r * cols + c]! /= s[r]!;
  return deq;
}

export async function awqSearch(w: Float32Array, rows: number, cols: number, stats: ActivationStats, opts: AwqOptions): Promise<AwqSearchResult> {
  const layer = opts.layer ?? 'weight';
  if (w.length !== rows * cols) throw new Error(`${layer}: awq got ${w.length} weight values, expected ${rows}x${cols}`);
  if (stats.gram.length !== rows * rows) throw new Error(`${layer}: awq got a Gram matrix of ${stats.gram.length} values, expected ${rows}x${rows}`);
  if (stats.meanAbs.length !== rows) throw new Error(`${layer}: awq got ${stats.meanAbs.length} activation magnitudes, expected ${rows}`);
  const n = opts.gridPoints ?? 20;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${layer}: awq gridPoints must be a positive integer, got ${n}`);
  const g = { data: stats.gram, rows, cols: rows };
  const losses: { alpha: number; loss: number }[] = [];
  let best: { alpha: number; loss: number; scales: Float32Array } = { alpha: 0, loss: Infinity, scales: new Float32Array(rows) };
  for (let k = 0; k <= n; k++) {
    const alpha = k / n;
    const s = awqScales(stats.meanAbs, alpha);
    const eff = awqEffectiveWeight(w, rows, cols, s, opts.spec, layer);
    if (opts.outputLoss) {
      const loss = await opts.outputLoss(eff);
      losses.push({ alpha, loss });
      if (loss < best.loss) best = { alpha, loss, scales: s };
      continue;
    }
    const delta = new Float32Array(rows * cols);
    for (let i = 0; i < delta.length; i++) delta[i] = eff[i]! - w[i]!;
    const gd = (await gemm(g, { data: delta, rows, cols })).data;
    let loss = 0;
    for (let i = 0; i < delta.length; i++) loss += delta[i]! * gd[i]!;
    losses.push({ alpha, loss });
    if (loss < best.loss) best = { alpha, loss, scales: s };
  }
  return { alpha: best.alpha, scales: best.scales, losses };
}
