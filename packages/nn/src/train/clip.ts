/**
 * Gradient clipping by global norm (Pascanu, Mikolov & Bengio, "On the difficulty of training
 * recurrent neural networks", ICML 2013, Algorithm 1): if ||g|| > threshold, g <- g * threshold / ||g||,
 * with ||g|| the L2 norm over all gradients together.
 */
import type { ParamMap } from './types';

/** L2 norm of all gradients as one vector, summed in float64 so large models do not lose bits. */
export function globalNorm(grads: ParamMap): number {
  let sum = 0;
  for (const g of grads.values()) {
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  return Math.sqrt(sum);
}

/** Scales `grads` in place when their global norm exceeds `maxNorm`; returns the norm before clipping. */
export function clipGlobalNorm(grads: ParamMap, maxNorm: number): { norm: number; scale: number } {
  if (!(maxNorm > 0)) throw new Error(`clipGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  if (!Number.isFinite(norm)) throw new Error(`clipGlobalNorm: gradient norm is ${norm}`);
  if (norm <= maxNorm) return { norm, scale: 1 };
  const scale = maxNorm / norm;
  for (const g of grads.values()) {
    for (let i = 0; i < g.length; i++) g[i] *= scale;
  }
  return { norm, scale };
}
