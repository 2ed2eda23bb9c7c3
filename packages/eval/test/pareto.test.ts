import { mulberry32 } from '@distillery/data';
import { describe, expect, it } from 'vitest';
import { dominatorCount, dominatorsOf, dominates, metricDirection, paretoFrontier, ParetoInputError, type Direction, type ParetoPoint, type ParetoResult } from '../src/pareto';

/** O(n^2) reference: a point is on the frontier when nothing dominates it. */
function bruteForce(points: ParetoPoint[], dx: Direction, dy: Direction) {
  const frontier = points.filter((p) => !points.some((q) => q !== p && dominates(q, p, dx, dy)));
  const dominated = points
    .filter((p) => !frontier.includes(p))
    .map((p) => ({ id: p.id, dominatedBy: frontier.filter((f) => dominates(f, p, dx, dy)).map((f) => f.id).sort() }));
  return { frontier: frontier.map((p) => p.id).sort(), dominated };
}

function randomPoints(seed: number, n: number, grid: number): ParetoPoint[] {
  const r = mulberry32(seed);
  // A coarse grid makes ties and exact duplicates common.
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, x: Math.floor(r.nextFloat() * grid), y: Math.floor(r.nextFloat() * grid) }));
}

/** The sweep's answer in the reference's shape: dominator lists read from the ranges. */
function asLists(r: ParetoResult) {
  return r.dominated.map((d) => ({ id: d.id, dominatedBy: dominatorsOf(r, d).sort() }));
}

describe('pareto frontier', () => {
  const directions: [Direction, Direction][] = [['min', 'min'], ['min', 'max'], ['max', 'min'], ['max', 'max']];

  it('matches the brute-force frontier and dominators on random points with ties', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const points = randomPoints(seed, 1 + (seed % 40), seed % 2 ? 6 : 1000);
      for (const [dx, dy] of directions) {
        const got = paretoFrontier(points, dx, dy);
        const want = bruteForce(points, dx, dy);
        expect([...got.frontier].sort()).toEqual(want.frontier);
        expect(asLists(got)).toEqual(want.dominated);
        expect(got.dominated.map(dominatorCount)).toEqual(want.dominated.map((d) => d.dominatedBy.length));
      }
    }
  });

  it('matches the brute force on larger sets with many equal x, equal y and duplicate points', () => {
    for (let seed = 100; seed < 106; seed++) {
      // 400 points on a 12x12 grid: every value repeats, and so do whole points.
      const points = randomPoints(seed, 400, 12);
      for (const [dx, dy] of directions) {
        const got = paretoFrontier(points, dx, dy);
        const want = bruteForce(points, dx, dy);
        expect([...got.frontier].sort()).toEqual(want.frontier);
        expect(asLists(got)).toEqual(want.dominated);
        expect(got.dominated.every((d) => dominatorCount(d) >= 1)).toBe(true);
      }
    }
  });

  it('orders the frontier from the best x, with y improving along it', () => {
    const points = [
      { id: 'small-bad', x: 1, y: 90 },
      { id: 'big-good', x: 10, y: 50 },
      { id: 'mid', x: 5, y: 60 },
      { id: 'worse-than-mid', x: 6, y: 70 },
    ];
    const r = paretoFrontier(points, 'min', 'min');
    expect(r.frontier).toEqual(['small-bad', 'mid', 'big-good']);
    expect(asLists(r)).toEqual([{ id: 'worse-than-mid', dominatedBy: ['mid'] }]);
  });

  it('keeps identical points both on the frontier', () => {
    const r = paretoFrontier([{ id: 'a', x: 1, y: 1 }, { id: 'b', x: 1, y: 1 }, { id: 'c', x: 1, y: 2 }], 'min', 'min');
    expect(r.frontier.sort()).toEqual(['a', 'b']);
    expect(asLists(r)).toEqual([{ id: 'c', dominatedBy: ['a', 'b'] }]);
    expect(dominatorCount(r.dominated[0]!)).toBe(2);
  });

  it('refuses non-finite coordinates, naming the point', () => {
    expect(() => paretoFrontier([{ id: 'run-7', x: Number.NaN, y: 1 }], 'min', 'min')).toThrow(/run-7/);
  });

  it('takes directions from the catalogue and refuses neutral or unknown names', () => {
    expect(metricDirection('perplexity')).toBe('min');
    expect(metricDirection('divergence.top1')).toBe('max');
    expect(() => metricDirection('eval.tokens')).toThrow(ParetoInputError);
    expect(() => metricDirection('loss')).toThrow(/not in the catalogue/);
    expect(metricDirection('loss', 'min')).toBe('min');
  });
});
