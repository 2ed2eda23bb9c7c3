import { describe, expect, it } from 'vitest';
import { sampleSequences } from '../src/calibration';

describe('sampleSequences', () => {
  const corpus = Int32Array.from({ length: 10_000 }, (_, i) => i);

  it('returns n windows of consecutive corpus tokens', () => {
    const windows = sampleSequences(corpus, 32, 128, 9);
    expect(windows).toHaveLength(32);
    for (const window of windows) {
      expect(window).toHaveLength(128);
      const start = window[0];
      expect(Array.from(window)).toEqual(Array.from({ length: 128 }, (_, i) => start + i));
    }
  });

  it('is deterministic for a seed and varies across seeds', () => {
    expect(sampleSequences(corpus, 8, 16, 1)).toEqual(sampleSequences(corpus, 8, 16, 1));
    expect(sampleSequences(corpus, 8, 16, 1)).not.toEqual(sampleSequences(corpus, 8, 16, 2));
    expect(sampleSequences(Array.from(corpus), 8, 16, 1)).toEqual(sampleSequences(corpus, 8, 16, 1));
  });

  it('can take the whole corpus as a window, and reaches both ends', () => {
    expect(sampleSequences([5, 6, 7], 2, 3, 0)).toEqual([Int32Array.of(5, 6, 7), Int32Array.of(5, 6, 7)]);
    const starts = new Set(sampleSequences([0, 1, 2, 3], 200, 2, 4).map((w) => w[0]));
    expect(starts).toEqual(new Set([0, 1, 2]));
  });

  it('explains a corpus shorter than the window', () => {
    expect(() => sampleSequences([1, 2, 3], 1, 4, 0)).toThrow('cannot sample windows of 4 tokens from a corpus of only 3 tokens');
    expect(() => sampleSequences(corpus, 1, 0, 0)).toThrow(/length/);
  });
});
