import { describe, expect, it } from 'vitest';
import { liveSeries } from '../src/live-series';
import type { SeriesPoint } from '../src/thread-messages';

describe('liveSeries', () => {
  it('sends the first point at once, then the latest point of each series once per interval, and the rest on flush', () => {
    let t = 0;
    const sent: SeriesPoint[][] = [];
    const live = liveSeries((p) => sent.push(p), 1000, () => t);
    live.add({ name: 'loss', step: 1, value: 5 });
    for (let step = 2; step <= 10; step++) {
      t += 150;
      live.add({ name: 'loss', step, value: 5 - step / 10 });
      if (step % 4 === 0) live.add({ name: 'heldout', step, value: 100 - step });
    }
    // t = 1350 at step 10: one send at t = 0 and one once the interval had passed (step 8, t = 1050).
    expect(sent.map((batch) => batch.map((p) => `${p.name}@${p.step}`))).toEqual([['loss@1'], ['loss@8', 'heldout@4']]);
    live.flush();
    expect(sent.at(-1)!.map((p) => `${p.name}@${p.step}`).sort()).toEqual(['heldout@8', 'loss@10']);
    live.flush();
    expect(sent).toHaveLength(3);
  });
});
