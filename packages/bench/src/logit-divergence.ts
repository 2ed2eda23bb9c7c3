/**
 * How far a compressed model's next-token distributions are from its base model's on the
 * same text: mean KL(p_base || p_model) per token (Kullback and Leibler 1951; the
 * "KL divergence" column of llama.cpp's perplexity tool) and the fraction of positions
 * whose top-1 token agrees. Disjoint windows, both models run by ORT.
 * Kept in the bench until the evaluation suite's divergence metric lands in packages/eval.
 */
import type { CausalLmSession } from '@distillery/eval';

export interface Divergence {
  klVsBase: number;
  top1Agreement: number;
  positions: number;
}

/** log-softmax of one row into `out`, in float64 with the max subtracted (log-sum-exp). */
export function logSoftmaxRow(logits: Float32Array, offset: number, vocab: number, out: Float64Array): void {
  let max = -Infinity;
  for (let j = 0; j < vocab; j++) if (logits[offset + j]! > max) max = logits[offset + j]!;
  let sum = 0;
  for (let j = 0; j < vocab; j++) sum += Math.exp(logits[offset + j]! - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < vocab; j++) out[j] = logits[offset + j]! - lse;
}

/** KL(p || q) and argmax agreement of two logits rows. */
export function rowDivergence(base: Float32Array, other: Float32Array, offset: number, vocab: number, lp: Float64Array, lq: Float64Array): { kl: number; agree: boolean } {
  logSoftmaxRow(base, offset, vocab, lp);
  logSoftmaxRow(other, offset, vocab, lq);
  let kl = 0;
  let bp = 0;
  let bq = 0;
  for (let j = 0; j < vocab; j++) {
    kl += Math.exp(lp[j]!) * (lp[j]! - lq[j]!);
    if (lp[j]! > lp[bp]!) bp = j;
    if (lq[j]! > lq[bq]!) bq = j;
  }
  return { kl, agree: bp === bq };
}

export async function logitDivergence(base: CausalLmSession, model: CausalLmSession, tokens: Int32Array, window: number): Promise<Divergence> {
  let kl = 0;
  let agree = 0;
  let positions = 0;
  let lp = new Float64Array(0);
  let lq = new Float64Array(0);
  for (let start = 0; start + window <= tokens.length; start += window) {
    const seq = tokens.subarray(start, start + window);
    const [a, b] = [await base.forward(seq), await model.forward(seq)];
    if (a.vocab !== b.vocab) throw new Error(`vocabularies differ: ${a.vocab} vs ${b.vocab}`);
    if (lp.length !== a.vocab) [lp, lq] = [new Float64Array(a.vocab), new Float64Array(a.vocab)];
    for (let i = 0; i < window; i++) {
      const r = rowDivergence(a.logits, b.logits, i * a.vocab, a.vocab, lp, lq);
      kl += r.kl;
      if (r.agree) agree++;
      positions++;
    }
  }
  if (!positions) throw new Error(`logitDivergence: ${tokens.length} tokens hold no window of ${window}`);
  return { klVsBase: kl / positions, top1Agreement: agree / positions, positions };
}
