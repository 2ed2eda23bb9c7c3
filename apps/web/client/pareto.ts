/**
 * The dashboard's view of the one Pareto implementation (`@distillery/eval/pareto`): points
 * by index, directions as "lower is better" flags from the metric catalogue.
 */
import { dominates as dominatesIn, paretoFrontier as frontierOf, type Direction } from '@distillery/eval/pareto';

export interface ParetoInput {
  x: number;
  y: number;
}

/** true: smaller is better on that axis. */
export interface ParetoDirections {
  xLowerIsBetter: boolean;
  yLowerIsBetter: boolean;
}

const direction = (lowerIsBetter: boolean): Direction => (lowerIsBetter ? 'min' : 'max');

/** Does `a` dominate `b`: at least as good on both axes and strictly better on one. */
export function dominates(a: ParetoInput, b: ParetoInput, d: ParetoDirections): boolean {
  return dominatesIn(a, b, direction(d.xLowerIsBetter), direction(d.yLowerIsBetter));
}

/**
 * Indices of the non-dominated points, ordered from the best x to the worst (so drawing
 * them in order traces the frontier as a staircase). Points with a non-finite coordinate
 * (a run without that figure) never belong to it.
 */
export function paretoFrontier<T extends ParetoInput>(points: ReadonlyArray<T>, d: ParetoDirections): number[] {
  const finite = points.flatMap((p, i) => (Number.isFinite(p.x) && Number.isFinite(p.y) ? [{ id: String(i), x: p.x, y: p.y }] : []));
  return frontierOf(finite, direction(d.xLowerIsBetter), direction(d.yLowerIsBetter)).frontier.map(Number);
}
