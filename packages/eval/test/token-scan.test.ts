import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWindows, openScorer, scanTokens, slidingWindows, type WindowScorer } from '../src';
import { tinyDecoder, tokenStream } from './tiny-decoder';

describe('batchWindows', () => {
  it('groups consecutive windows of one length, at most `batch` per group', () => {
    const w = slidingWindows(30, 8, 5); // lengths 8,8,8,8,8 then a shorter tail
    const b = batchWindows(w, 2);
    expect(b.map((x) => [x.length, x.windows.length])).toEqual([[8, 2], [8, 2], [8, 1], [5, 1]]);
    expect(b.flatMap((x) => x.windows)).toEqual(w);
    expect(() => batchWindows(w, 0)).toThrow(/batch must be/);
  });
});

describe('scanTokens', () => {
  const tiny = tinyDecoder(2);
  const V = tiny.config.vocabSize;
  let scorer: WindowScorer;
  beforeAll(async () => {
    scorer = await openScorer(tiny.model);
  });
  afterAll(async () => {
    await scorer.release();
  });

  for (const [n, L, S, B] of [[41, 8, 3, 4], [41, 8, 8, 3], [40, 8, 1, 7], [9, 16, 4, 2]] as const) {
    it(`scores each token exactly once, in order (n ${n}, window ${L}, stride ${S}, batch ${B})`, async () => {
      const tokens = tokenStream(n, V, n);
      const seen: number[] = [];
      const summary = await scanTokens(scorer, tokens, { window: L, stride: S, batch: B }, ({ scores, slots }) => {
        for (const s of slots) {
          // The slot's position is the one whose logits predict the token: one before it in the window.
          expect(s.position).toBeLessThan(scores.length - 1);
          seen.push(s.token);
        }
      });
      expect(summary.scored).toBe(seen.length);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
      if (S < L) expect(seen).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1)); // all but the first token
      else expect(seen.length).toBe(n - Math.ceil(n / L)); // disjoint windows skip each first token
    });
  }
});
