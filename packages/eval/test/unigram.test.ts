import { describe, expect, it } from 'vitest';
import { unigramPerplexity } from '../src/unigram';

describe('unigramPerplexity', () => {
  it('equals the vocabulary size when nothing was seen in training', () => {
    expect(unigramPerplexity([], [0, 1, 2, 3], 7)).toBeCloseTo(7, 10);
  });

  it('matches a hand computation with add-one smoothing', () => {
    // train: token 0 twice, token 1 once; vocab 3 -> p = [3/6, 2/6, 1/6]
    const p = [3 / 6, 2 / 6, 1 / 6];
    const test = [0, 1, 2, 0];
    const expected = Math.exp(-test.reduce((s, t) => s + Math.log(p[t]!), 0) / test.length);
    expect(unigramPerplexity([0, 0, 1], test, 3)).toBeCloseTo(expected, 12);
  });

  it('refuses ids outside the vocabulary and empty test sets', () => {
    expect(() => unigramPerplexity([0], [5], 3)).toThrow(/outside the vocabulary/);
    expect(() => unigramPerplexity([0], [], 3)).toThrow(/at least one/);
  });
});
