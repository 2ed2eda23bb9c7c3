/**
 * log p(target) from one row of logits, in float64 with the max subtracted first
 * (log-sum-exp trick) so large logits neither overflow nor lose the target's term.
 */
export function logProbAt(logits: Float32Array, offset: number, vocab: number, target: number): number {
  if (!(target >= 0 && target < vocab && Number.isInteger(target))) throw new Error(`token id ${target} is outside the vocabulary (size ${vocab})`);
  let max = -Infinity;
  for (let j = 0; j < vocab; j++) if (logits[offset + j]! > max) max = logits[offset + j]!;
  let sum = 0;
  for (let j = 0; j < vocab; j++) sum += Math.exp(logits[offset + j]! - max);
  return logits[offset + target]! - max - Math.log(sum);
}
