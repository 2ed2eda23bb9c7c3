/**
 * Unstructured magnitude pruning (Han et al. 2015, "Learning both Weights and Connections
 * for Efficient Neural Networks", §3): zero the fraction `sparsity` of a layer's weights
 * with the smallest |w|. Ties at the threshold are broken by position so exactly
 * round(sparsity · n) weights become zero.
 */
export function pruneByMagnitude(w: Float32Array, sparsity: number): Float32Array {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`sparsity must be in [0, 1), got ${sparsity}`);
  const k = Math.round(sparsity * w.length);
  const out = Float32Array.from(w);
  if (k === 0) return out;
  const order = new Uint32Array(w.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => Math.abs(w[a]!) - Math.abs(w[b]!) || a - b);
  for (let i = 0; i < k; i++) out[order[i]!] = 0;
  return out;
}
