import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttleProgress, type Progress } from '../src/progress-throttle';

describe('throttleProgress', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes the first report at once, then at most one (the latest) per interval', async () => {
    const written: Progress[] = [];
    const t = throttleProgress(async (p) => void written.push(p), 500, () => Date.now());
    t.report({ fraction: 0.1, message: 'a' });
    t.report({ fraction: 0.2, message: 'b' });
    t.report({ fraction: 0.3, message: 'c' });
    await vi.advanceTimersByTimeAsync(0);
    expect(written.map((p) => p.message)).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(499);
    expect(written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(written.map((p) => p.message)).toEqual(['a', 'c']);
    t.report({ fraction: 0.4, message: 'd' });
    await t.flush();
    expect(written.map((p) => p.message)).toEqual(['a', 'c', 'd']);
  });

  it('drops held reports on stop and survives a failing write', async () => {
    const written: string[] = [];
    let fail = true;
    const t = throttleProgress(async (p) => {
      if (fail) {
        fail = false;
        throw new Error('db down');
      }
      written.push(p.message);
    }, 500, () => Date.now());
    t.report({ fraction: 0.1, message: 'lost' });
    await vi.advanceTimersByTimeAsync(500);
    t.report({ fraction: 0.2, message: 'kept' });
    await t.flush();
    t.report({ fraction: 0.3, message: 'held' });
    await t.stop();
    await vi.advanceTimersByTimeAsync(2000);
    t.report({ fraction: 0.9, message: 'after stop' });
    await t.flush();
    expect(written).toEqual(['kept']);
  });
});
