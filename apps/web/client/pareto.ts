/**
 * The Pareto frontier of points on two metrics, each with its own better direction: the
 * points no other point beats on both. Sort-and-sweep of Kung, Luccio & Preparata,
 * "On finding the maxima of a set of vectors" (JACM 1975), section 2 (the two-dimensional
 * case): O(n log n). Pure; the API will offer a frontier of its own, this one serves until then.
 */

export interface ParetoInput {
  x: number;
  y: number;
}

/** true: smaller is better on that axis. */
export interface ParetoDirections {
  xLowerIsBetter: boolean;
  yLowerIsBetter: boolean;
}

/** Does `a` dominate `b`: at least as good on both axes and strictly better on one. */
export function dominates(a: ParetoInput, b: ParetoInput, d: ParetoDirections): boolean {
  const ax = d.xLowerIsBetter ? -a.x : a.x;
  const bx = d.xLowerIsBetter ? -b.x : b.x;
  const ay = d.yLowerIsBetter ? -a.y : a.y;
  const by = d.yLowerIsBetter ? -b.y : b.y;
  return ax >= bx && ay >= by && (ax > bx || ay > by);
}

/**
 * Indices of the non-dominated points, ordered from the best x to the worst (so drawing
 * them in order traces the frontier as a staircase). Points with a non-finite coordinate
 * never belong to it. Exact duplicates of a frontier point are all kept.
 */
export function paretoFrontier<T extends ParetoInput>(points: ReadonlyArray<T>, d: ParetoDirections): number[] {
  // Flip signs so that larger is better on both axes; then sweep by x descending.
  const gx = (p: ParetoInput) => (d.xLowerIsBetter ? -p.x : p.x);
  const gy = (p: ParetoInput) => (d.yLowerIsBetter ? -p.y : p.y);
  const order = points
    .map((p, i) => i)
    .filter((i) => Number.isFinite(points[i]!.x) && Number.isFinite(points[i]!.y))
    .sort((a, b) => gx(points[b]!) - gx(points[a]!) || gy(points[b]!) - gy(points[a]!));
  const out: number[] = [];
  let bestY = -Infinity;
  let bestX = Infinity;
  for (const i of order) {
    const x = gx(points[i]!);
    const y = gy(points[i]!);
    if (y > bestY) {
      out.push(i);
      bestY = y;
      bestX = x;
    } else if (y === bestY && x === bestX) {
      // The same point twice: neither dominates the other.
      out.push(i);
    }
  }
  return out;
}
