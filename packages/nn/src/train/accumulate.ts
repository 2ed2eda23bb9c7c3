/**
 * Gradient accumulation: the mean of micro-batch losses and gradients. For a loss that is a
 * mean over examples and micro-batches of equal size, this equals the full-batch loss and
 * gradient, so a large batch fits in the memory of a small one.
 */
import type { GradientSource, ParamMap, StepContext } from './types';

export interface AccumulateOptions {
  /** Keep gradients only for these names (the trainable ones); default all. */
  keep?: (name: string) => boolean;
  /** Context for each micro-batch, in order (stochastic sources need one seed each). */
  contexts?: StepContext[];
}

export async function accumulateGradients<B>(
  source: GradientSource<B>,
  params: ParamMap,
  microBatches: B[],
  opts: AccumulateOptions = {},
): Promise<{ loss: number; grads: ParamMap }> {
  if (microBatches.length === 0) throw new Error('accumulateGradients: no micro-batches');
  const keep = opts.keep ?? (() => true);
  if (microBatches.length === 1) {
    // Nothing to sum: the gradients are used before the source is called again, so no copy.
    const { loss, grads } = await source.step(params, microBatches[0]!, opts.contexts?.[0]);
    return { loss, grads: new Map([...grads].filter(([name]) => keep(name))) };
  }
  const sums: ParamMap = new Map();
  let lossSum = 0;
  for (let k = 0; k < microBatches.length; k++) {
    const { loss, grads } = await source.step(params, microBatches[k]!, opts.contexts?.[k]);
    lossSum += loss;
    for (const [name, g] of grads) {
      if (!keep(name)) continue;
      const sum = sums.get(name);
      if (!sum) {
        // Copy: a source may reuse its output buffers on the next call.
        sums.set(name, Float32Array.from(g));
      } else {
        if (sum.length !== g.length) throw new Error(`gradient of "${name}" changed size between micro-batches (${sum.length} -> ${g.length})`);
        for (let i = 0; i < g.length; i++) sum[i] += g[i];
      }
    }
  }
  const n = microBatches.length;
  if (n > 1) {
    const inv = 1 / n;
    for (const sum of sums.values()) for (let i = 0; i < sum.length; i++) sum[i] *= inv;
  }
  return { loss: lossSum / n, grads: sums };
}
