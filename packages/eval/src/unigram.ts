/**
 * Unigram baseline: the perplexity of a model that ignores context and predicts every
 * token with its add-one-smoothed frequency in the training tokens (Laplace smoothing).
 * A language model worth the name must beat it by a wide margin.
 */
export function unigramPerplexity(trainTokens: ArrayLike<number>, testTokens: ArrayLike<number>, vocabSize: number): number {
  if (testTokens.length === 0) throw new Error('unigram perplexity needs at least one test token');
  const counts = new Float64Array(vocabSize).fill(1);
  for (let i = 0; i < trainTokens.length; i++) counts[trainTokens[i]!]! += 1;
  const total = trainTokens.length + vocabSize;
  let nll = 0;
  for (let i = 0; i < testTokens.length; i++) {
    const t = testTokens[i]!;
    if (t < 0 || t >= vocabSize) throw new Error(`token id ${t} at position ${i} is outside the vocabulary of ${vocabSize}`);
    nll -= Math.log(counts[t]! / total);
  }
  return Math.exp(nll / testTokens.length);
}
