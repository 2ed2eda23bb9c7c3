/**
 * Pareto frontier of points on two metrics (Kung, Luccio & Preparata 1975, "On finding the
 * maxima of a set of vectors", the two-dimensional sort-and-sweep case): O(n log n).
 * A point dominates another when it is no worse on both metrics and better on one. Every
 * caller that ranks on two metrics (API, sweeps, dashboard, bench) uses this module; it
 * imports only the metric catalogue, so the API process can load it.
 */
import { describeMetric } from './metric-catalogue';

export type Direction = 'min' | 'max';

export interface ParetoPoint {
  id: string;
  x: number;
  y: number;
}

export interface DominatedPoint {
  id: string;
  /**
   * The frontier points that dominate this one are always a contiguous run of the frontier:
   * `frontier.slice(from, to)` (see dominatorsOf). A range, not a list, keeps the result
   * O(n) in size; a list per point grows with n times the frontier's length.
   */
  from: number;
  to: number;
}

export interface ParetoResult {
  /** Frontier ids ordered from the best x to the worst x (so the y values get better along it). */
  frontier: string[];
  dominated: DominatedPoint[];
}

export class ParetoInputError extends Error {}

/** Min-space coordinates: a 'max' metric is negated so "smaller is better" holds on both axes. */
interface Oriented {
  index: number;
  x: number;
  y: number;
}

/** True when `a` dominates `b` on the two directions given. */
export function dominates(a: { x: number; y: number }, b: { x: number; y: number }, dx: Direction, dy: Direction): boolean {
  const ax = dx === 'min' ? a.x : -a.x;
  const bx = dx === 'min' ? b.x : -b.x;
  const ay = dy === 'min' ? a.y : -a.y;
  const by = dy === 'min' ? b.y : -b.y;
  return ax <= bx && ay <= by && (ax < bx || ay < by);
}

export function paretoFrontier(points: readonly ParetoPoint[], dx: Direction, dy: Direction): ParetoResult {
  const oriented: Oriented[] = points.map((p, index) => {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new ParetoInputError(`point "${p.id}" has a non-finite coordinate (x=${p.x}, y=${p.y})`);
    return { index, x: dx === 'min' ? p.x : -p.x, y: dy === 'min' ? p.y : -p.y };
  });
  oriented.sort((a, b) => a.x - b.x || a.y - b.y || a.index - b.index);

  // Sweep in x order; identical points form one group, so duplicates do not dominate each other.
  const onFrontier: Oriented[] = [];
  const dominatedRows: Oriented[] = [];
  let bestY = Infinity;
  for (let i = 0; i < oriented.length; ) {
    let j = i;
    while (j < oriented.length && oriented[j]!.x === oriented[i]!.x && oriented[j]!.y === oriented[i]!.y) j++;
    const group = oriented.slice(i, j);
    // Earlier groups have a smaller x, or the same x and a smaller y: any with y <= ours dominates.
    if (bestY <= oriented[i]!.y) dominatedRows.push(...group);
    else onFrontier.push(...group);
    bestY = Math.min(bestY, oriented[i]!.y);
    i = j;
  }

  // Along the frontier x rises and y falls; a dominated point's dominators are the
  // frontier points with x <= its x (a prefix) and y <= its y (a suffix): two binary searches.
  const dominated = dominatedRows
    .sort((a, b) => a.index - b.index)
    .map((p) => ({ id: points[p.index]!.id, from: firstIndex(onFrontier, (f) => f.y <= p.y), to: upperBound(onFrontier, (f) => f.x <= p.x) }));
  return { frontier: onFrontier.map((f) => points[f.index]!.id), dominated };
}

/** Ids of the frontier points that dominate `d`, in frontier order. */
export function dominatorsOf(result: ParetoResult, d: DominatedPoint): string[] {
  return result.frontier.slice(d.from, d.to);
}

/** How many frontier points dominate `d` (at least one). */
export function dominatorCount(d: DominatedPoint): number {
  return d.to - d.from;
}

/** Number of leading elements satisfying a predicate that holds on a prefix. */
function upperBound<T>(xs: readonly T[], inPrefix: (x: T) => boolean): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (inPrefix(xs[mid]!)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index where a predicate that holds on a suffix becomes true. */
function firstIndex<T>(xs: readonly T[], inSuffix: (x: T) => boolean): number {
  return upperBound(xs, (x) => !inSuffix(x));
}

/** The direction of a stored metric name from the catalogue; `override` serves names outside it. */
export function metricDirection(name: string, override?: Direction | null): Direction {
  if (override) return override;
  const d = describeMetric(name);
  if (!d) throw new ParetoInputError(`metric "${name}" is not in the catalogue; say whether lower or higher is better`);
  if (d.lowerIsBetter === null) throw new ParetoInputError(`metric "${name}" (${d.label}) has no better direction; pick a metric that does`);
  return d.lowerIsBetter ? 'min' : 'max';
}
