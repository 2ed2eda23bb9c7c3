/**
 * Bits per layer under a budget of stored bits per weight, from measured per-layer
 * sensitivity: minimise Σ_l KL_l(b_l) subject to Σ_l n_l · bpw_l(b_l) <= target · Σ_l n_l,
 * a multiple-choice knapsack solved exactly by dynamic programming over the bit budget
 * (the additive-sensitivity model of HAWQ-V3, Yao et al. 2021, §3.3, with measured KL in
 * place of the Hessian trace). Costs are rounded up to the DP's budget unit (exact when
 * stored sizes share a large enough common divisor), so the allocation never exceeds the target.
 */

export interface LayerOption {
  bits: number;
  /** KL(base || model) when only this layer is quantized to `bits`. */
  kl: number;
  /** Stored bits per weight of this layer at `bits`, scales and zero points included. */
  bitsPerWeight: number;
}

export interface LayerCandidates {
  layer: string;
  /** Number of weights in the layer. */
  weights: number;
  options: LayerOption[];
}

export interface BitAllocation {
  bits: Map<string, number>;
  /** Σ KL of the chosen options (the additive estimate). */
  predictedKl: number;
  bitsPerWeight: number;
}

/** Budget resolution: the DP table has at most this many columns. */
const MAX_UNITS = 20_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Stored sizes are whole bits: when their greatest common divisor splits the budget into
 * few enough units the DP is exact; otherwise costs are rounded up to budget / MAX_UNITS.
 */
function budgetUnit(layers: readonly LayerCandidates[], budget: number): { unit: number; units: number } {
  const costs = layers.flatMap((l) => l.options.map((o) => l.weights * o.bitsPerWeight));
  if (costs.every((c) => Math.abs(c - Math.round(c)) < 1e-6)) {
    const g = costs.reduce((a, c) => gcd(a, Math.round(c)), 0);
    const units = Math.floor(budget / g + 1e-9);
    if (g > 0 && units <= MAX_UNITS) return { unit: g, units };
  }
  return { unit: budget / MAX_UNITS, units: MAX_UNITS };
}

export function allocateBits(layers: readonly LayerCandidates[], targetBitsPerWeight: number): BitAllocation {
  if (layers.length === 0) throw new Error('allocateBits: no layers to allocate bits to');
  for (const l of layers) {
    if (l.options.length === 0) throw new Error(`allocateBits: layer ${l.layer} has no bit-width options`);
    if (!(l.weights > 0)) throw new Error(`allocateBits: layer ${l.layer} has ${l.weights} weights`);
    for (const o of l.options) if (!Number.isFinite(o.kl)) throw new Error(`allocateBits: layer ${l.layer} at ${o.bits} bits has KL ${o.kl}`);
  }
  const total = layers.reduce((s, l) => s + l.weights, 0);
  const budget = targetBitsPerWeight * total;
  const minCost = layers.reduce((s, l) => s + l.weights * Math.min(...l.options.map((o) => o.bitsPerWeight)), 0);
  if (minCost > budget * (1 + 1e-12)) {
    throw new Error(`target of ${targetBitsPerWeight} bits per weight is below the smallest reachable, ${(minCost / total).toFixed(4)} (every layer at its fewest bits)`);
  }
  const { unit, units } = budgetUnit(layers, budget);
  const cost = (l: LayerCandidates, o: LayerOption) => Math.ceil((l.weights * o.bitsPerWeight) / unit - 1e-9);
  // best[c]: least total KL of the layers so far using at most c units; choice per layer and c.
  let best = new Float64Array(units + 1).fill(0);
  const choice: Int16Array[] = [];
  for (const l of layers) {
    const next = new Float64Array(units + 1).fill(Infinity);
    const pick = new Int16Array(units + 1).fill(-1);
    l.options.forEach((o, k) => {
      const c = cost(l, o);
      for (let b = c; b <= units; b++) {
        const v = best[b - c]! + o.kl;
        if (v < next[b]!) {
          next[b] = v;
          pick[b] = k;
        }
      }
    });
    choice.push(pick);
    best = next;
  }
  if (!Number.isFinite(best[units]!)) {
    // Rounding costs up can make a target at the very edge unreachable.
    throw new Error(`target of ${targetBitsPerWeight} bits per weight is too close to the smallest reachable, ${(minCost / total).toFixed(4)}; raise it slightly`);
  }
  const bits = new Map<string, number>();
  let b = units;
  let stored = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    const o = l.options[choice[i]![b]!]!;
    bits.set(l.layer, o.bits);
    stored += l.weights * o.bitsPerWeight;
    b -= cost(l, o);
  }
  return { bits, predictedKl: best[units]!, bitsPerWeight: stored / total };
}
