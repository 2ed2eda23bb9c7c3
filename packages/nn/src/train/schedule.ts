/**
 * Learning-rate schedules as pure functions of the optimizer step. Warmup then cosine decay
 * to a floor is one cycle of SGDR's cosine annealing (Loshchilov & Hutter, "SGDR: Stochastic
 * Gradient Descent with Warm Restarts", ICLR 2017, eq. 5) without restarts.
 */

/** Learning rate for a 0-based optimizer step. */
export type Schedule = (step: number) => number;

export interface WarmupCosineOptions {
  peakLr: number;
  /** Steps of linear warmup; step s < warmupSteps gets peakLr * (s + 1) / warmupSteps. */
  warmupSteps: number;
  /** Step at which the cosine reaches the floor; later steps stay at the floor. */
  totalSteps: number;
  /** Floor (eta_min in SGDR), default 0. */
  minLr?: number;
}

export function warmupCosine(opts: WarmupCosineOptions): Schedule {
  const { peakLr, warmupSteps, totalSteps } = opts;
  const minLr = opts.minLr ?? 0;
  if (!(peakLr >= 0) || !(minLr >= 0) || minLr > peakLr) throw new Error(`warmupCosine: need 0 <= minLr <= peakLr, got ${minLr}, ${peakLr}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`warmupCosine: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) throw new Error(`warmupCosine: totalSteps must be an integer >= warmupSteps, got ${totalSteps}`);
  const decaySteps = totalSteps - warmupSteps;
  return (step) => {
    // (s + 1) so the first step already moves the weights; s / warmup would waste it at lr 0.
    if (step < warmupSteps) return (peakLr * (step + 1)) / warmupSteps;
    if (decaySteps === 0) return minLr;
    const progress = Math.min(1, (step - warmupSteps) / decaySteps);
    return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
  };
}

export function constantSchedule(lr: number): Schedule {
  return () => lr;
}
