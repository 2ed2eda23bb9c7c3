/** The client-side Pareto frontier against a brute-force O(n²) definition on small random sets. */
import { describe, expect, it } from 'vitest';
import { dominates, paretoFrontier, type ParetoDirections } from '../../apps/web/client/pareto';
import { mulberry32 } from '@distillery/data';

/** Obviously correct: a point is on the frontier when no other point dominates it. */
function bruteForce(points: { x: number; y: number }[], d: ParetoDirections): number[] {
  return points
    .map((p, i) => i)
    .filter((i) => Number.isFinite(points[i]!.x) && Number.isFinite(points[i]!.y))
    .filter((i) => !points.some((q, j) => j !== i && Number.isFinite(q.x) && Number.isFinite(q.y) && dominates(q, points[i]!, d)));
}


describe('Pareto frontier', () => {
  it('matches the brute-force definition in all four direction combinations, ties and duplicates included', () => {
    const generator = mulberry32(7);
    const rand = () => generator.nextFloat();
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 12);
      // Coarse values so ties and exact duplicates are common.
      const pts = Array.from({ length: n }, () => ({ x: Math.floor(rand() * 5), y: Math.floor(rand() * 5) }));
      for (const xLowerIsBetter of [true, false]) {
        for (const yLowerIsBetter of [true, false]) {
          const d = { xLowerIsBetter, yLowerIsBetter };
          expect(paretoFrontier(pts, d).sort((a, b) => a - b)).toEqual(bruteForce(pts, d));
        }
      }
    }
  });

  it('orders the frontier from the best x and leaves out non-finite points', () => {
    // Size (lower better) vs perplexity (lower better): (1, 30) and (2, 20) and (4, 10) trade off; (3, 25) is beaten by (2, 20).
    const pts = [
      { x: 4, y: 10 },
      { x: 3, y: 25 },
      { x: 1, y: 30 },
      { x: 2, y: 20 },
      { x: Number.NaN, y: 1 },
    ];
    expect(paretoFrontier(pts, { xLowerIsBetter: true, yLowerIsBetter: true })).toEqual([2, 3, 0]);
    // Accuracy is higher-is-better: now (4, 10) is beaten by nothing and (1, 30) is best on y.
    expect(paretoFrontier(pts, { xLowerIsBetter: true, yLowerIsBetter: false })).toEqual([2]);
    expect(paretoFrontier([], { xLowerIsBetter: true, yLowerIsBetter: true })).toEqual([]);
  });
});
