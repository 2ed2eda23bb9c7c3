/**
 * Bounds the metric series a step reports (a loss point per training step would be
 * 100,000 rows for a long run): each series keeps at most `max` points, evenly spaced
 * over its steps, first and last included, so curves keep their shape.
 */
import type { SeriesPoint } from './thread-messages';

export function thinSeries(points: readonly SeriesPoint[], max: number): SeriesPoint[] {
  if (max < 2) throw new Error(`thinSeries keeps at least 2 points per series (asked for ${max})`);
  const byName = new Map<string, SeriesPoint[]>();
  for (const p of points) {
    let list = byName.get(p.name);
    if (!list) byName.set(p.name, (list = []));
    list.push(p);
  }
  const out: SeriesPoint[] = [];
  for (const list of byName.values()) {
    if (list.length <= max) {
      out.push(...list);
      continue;
    }
    let last = -1;
    for (let k = 0; k < max; k++) {
      const i = Math.round((k * (list.length - 1)) / (max - 1));
      if (i !== last) out.push(list[i]!);
      last = i;
    }
  }
  return out;
}
