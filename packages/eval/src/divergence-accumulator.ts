/**
 * Divergence of a model from its base on the same tokens, folded over scan batches: mean
 * KL(base || model) per token (the KLD of llama.cpp's perplexity tool), how often the two
 * agree on the most likely next token (llama.cpp's "same top p"), and how often the
 * base's most likely token is among the model's five most likely.
 */
import type { BatchView } from './token-scan';

export interface DivergenceResult {
  /** Mean KL(base || model) in nats per token. */
  kl: number;
  /** Largest per-token KL seen. */
  klMax: number;
  /** Fraction of tokens where both models' argmax agree. */
  top1: number;
  /** Fraction of tokens where the base's argmax is among the model's top k (k = 5, or the vocabulary if smaller). */
  top5: number;
  tokens: number;
}

export class DivergenceAccumulator {
  private sumKl = 0;
  private maxKl = 0;
  private same1 = 0;
  private same5 = 0;
  private n = 0;

  add(view: BatchView): void {
    const { scores, slots, baseTop1 } = view;
    if (!scores.kl || !baseTop1) throw new Error('divergence needs a batch scored against a base model');
    const T = scores.length;
    const k = scores.k;
    slots.forEach((s, i) => {
      const at = s.row * T + s.position;
      // float32 sums of terms that cancel can dip a hair below 0; KL itself never does.
      const kl = Math.max(0, scores.kl![at]!);
      this.sumKl += kl;
      if (kl > this.maxKl) this.maxKl = kl;
      const want = BigInt(baseTop1[i]!);
      if (scores.topIds[at * k] === want) this.same1++;
      for (let j = 0; j < k; j++) {
        if (scores.topIds[at * k + j] === want) {
          this.same5++;
          break;
        }
      }
      this.n++;
    });
  }

  result(): DivergenceResult {
    if (this.n === 0) throw new Error('divergence of no tokens');
    return { kl: this.sumKl / this.n, klMax: this.maxKl, top1: this.same1 / this.n, top5: this.same5 / this.n, tokens: this.n };
  }
}
