import { describe, expect, it } from 'vitest';
import { formatDuration, formatProgress, formatRate, ProgressBar } from '../src/train/index';

describe('progress bar', () => {
  it('formats step, percent, loss, rate and ETA', () => {
    expect(formatProgress({ step: 50, total: 100, loss: 2.345678, tokensPerSecond: 12345, etaSeconds: 65, width: 10 })).toBe(
      '[#####-----]   50/100   50.0%  loss 2.3457  12.3k tok/s  ETA 1m05s',
    );
    expect(formatProgress({ step: 0, total: 7, width: 4 })).toBe('[----]  0/7    0.0%  ETA --');
    expect(formatProgress({ step: 9, total: 7, width: 4 })).toContain('[####]');
  });

  it('formats durations and rates', () => {
    expect([formatDuration(0), formatDuration(59.4), formatDuration(3600 * 2 + 61), formatDuration(undefined), formatDuration(Infinity)]).toEqual([
      '0s', '59s', '2h01m', '--', '--',
    ]);
    expect([formatRate(950.4), formatRate(12345), formatRate(2_500_000)]).toEqual(['950', '12.3k', '2.50M']);
  });

  it('redraws one line on a TTY and prints periodic plain lines otherwise', () => {
    let t = 0;
    const tty: string[] = [];
    const bar = new ProgressBar({ total: 10, tokensPerStep: 1000, stream: { write: (s: string) => tty.push(s), isTTY: true }, now: () => t });
    t = 2000;
    bar.update(4, 1.5);
    expect(tty[0]).toMatch(/^\r\x1b\[2K\[.*\]\s+4\/10\s+40\.0%  loss 1\.5000  2000 tok\/s  ETA 3s$/);
    bar.done();
    expect(tty[1]).toBe('\n');

    const plain: string[] = [];
    t = 0;
    const log = new ProgressBar({ total: 10, stream: { write: (s: string) => plain.push(s) }, now: () => t, plainEverySeconds: 5 });
    for (let step = 1; step <= 10; step++) {
      t = step * 1000;
      log.update(step);
    }
    // at t=1s (first), t=6s (5 s later), and the final step
    expect(plain.map((l) => l.trim().split(/\s+/)[1])).toEqual(['1/10', '6/10', '10/10']);
    expect(plain.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });
});
