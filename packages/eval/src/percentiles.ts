/**
 * Order statistics of timings, pure so they can be tested with injected values.
 * Percentiles use the nearest-rank method (the smallest value with at least p% of the
 * values at or below it; Hyndman & Fan 1996, definition 1), so every reported figure is
 * a time that was actually measured.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error(`p${p} of no values`);
  if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100] (got ${p})`);
  const s = [...values].sort((a, b) => a - b);
  return s[Math.ceil((p / 100) * s.length) - 1]!;
}

export interface TimingSummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

export function summarizeTimings(values: readonly number[]): TimingSummary {
  if (values.length === 0) throw new Error('no timings to summarize');
  return {
    count: values.length,
    mean: values.reduce((a, v) => a + v, 0) / values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}
