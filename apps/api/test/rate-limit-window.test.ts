import { describe, expect, it } from 'vitest';
import { windowOf } from '../src/rate-limit';

describe('windowOf', () => {
  it('matches walking windows one by one from the epoch (small times)', () => {
    for (const w of [1, 7, 60]) {
      for (const now of [0, 999, 1000, 6_999, 7_000, 59_999, 60_000, 123_456, 4_000_001]) {
        const stepMs = w * 1000;
        let start = 0;
        while (start + stepMs <= now) start += stepMs;
        const got = windowOf(now, w);
        expect(got.start.getTime()).toBe(start);
        expect(got.retryAfterSeconds).toBe(Math.max(1, Math.ceil((start + stepMs - now) / 1000)));
      }
    }
  });

  it('puts present-day times in an aligned window that contains them', () => {
    for (const w of [1, 60, 3600]) {
      for (const now of [1_764_500_123_456, 1_764_500_400_000]) {
        const { start, retryAfterSeconds } = windowOf(now, w);
        expect(start.getTime() % (w * 1000)).toBe(0);
        expect(start.getTime()).toBeLessThanOrEqual(now);
        expect(start.getTime() + w * 1000).toBeGreaterThan(now);
        expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(retryAfterSeconds).toBeLessThanOrEqual(w);
      }
    }
  });
});
