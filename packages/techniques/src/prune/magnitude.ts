/**
 * Magnitude pruning (Han et al. 2015, "Learning both Weights and Connections for Efficient
 * Neural Networks", sec. 3): a weight's importance is |w|; the smallest go, per layer or
 * with one threshold over all layers (global).
 */
import { globalMasks, maskFor, type SparsityTarget } from './sparsity-mask';

export function magnitudeScores(w: Float32Array): Float32Array {
  return Float32Array.from(w, Math.abs);
}

/** Per-layer magnitude mask for W[rows = in, cols = out]. */
export function magnitudeMask(w: Float32Array, rows: number, cols: number, target: SparsityTarget, what = 'prune.magnitude'): Uint8Array {
  return maskFor(magnitudeScores(w), rows, cols, target, 'layer', what);
}

/** One threshold over every layer's |w| (unstructured only: N:M is a per-group rule already). */
export function globalMagnitudeMasks(weights: Float32Array[], sparsity: number, what = 'prune.magnitude'): Uint8Array[] {
  return globalMasks(weights.map(magnitudeScores), sparsity, what);
}
