/**
 * The live view of a step's metric series: while a technique trains, the latest point of
 * each series is sent at most once per interval, so curves grow in the database during
 * the run at a bounded write rate. The run's record keeps the full thinned series
 * (series-thinning.ts), which replaces these points when the run succeeds.
 */
import type { SeriesPoint } from './thread-messages';

export const LIVE_SERIES_INTERVAL_MS = 1000;

export interface LiveSeries {
  add(point: SeriesPoint): void;
  /** Sends what is held now (the end of a step). */
  flush(): void;
}

export function liveSeries(send: (points: SeriesPoint[]) => void, intervalMs: number, now: () => number = Date.now): LiveSeries {
  const latest = new Map<string, SeriesPoint>();
  let lastSent = -Infinity;
  const flush = () => {
    if (latest.size === 0) return;
    const points = [...latest.values()];
    latest.clear();
    lastSent = now();
    send(points);
  };
  return {
    add(point) {
      latest.set(point.name, point);
      // Checked on each point: a training loop is synchronous, so a timer would never fire.
      if (now() - lastSent >= intervalMs) flush();
    },
    flush,
  };
}
