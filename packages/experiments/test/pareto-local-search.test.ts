import { mulberry32 } from '@distillery/data';
import { describe, expect, it } from 'vitest';
import { neighbours, proposeConfigs, type EvaluatedConfig } from '../src/pareto-local-search';

/** Brute force: every grid point at Hamming distance 1 with a step of one along that axis. */
function bruteNeighbours(c: number[], sizes: number[]): string[] {
  const out: string[] = [];
  const total = sizes.reduce((a, b) => a * b, 1);
  for (let n = 0; n < total; n++) {
    const p: number[] = [];
    let m = n;
    for (let d = sizes.length - 1; d >= 0; d--) {
      p[d] = m % sizes[d]!;
      m = Math.floor(m / sizes[d]!);
    }
    const diff = p.map((v, i) => Math.abs(v - c[i]!));
    if (diff.filter((x) => x !== 0).length === 1 && diff.some((x) => x === 1)) out.push(p.join(','));
  }
  return out.sort();
}

describe('pareto local search', () => {
  it('finds the same neighbours as a scan of the whole grid', () => {
    const sizes = [3, 1, 4];
    for (const c of [[0, 0, 0], [1, 0, 2], [2, 0, 3]]) expect(neighbours(c, sizes).map((n) => n.join(',')).sort()).toEqual(bruteNeighbours(c, sizes));
  });

  it('seeds at random, waits for results, then proposes untried neighbours of frontier points before anything else', () => {
    const sizes = [5, 5];
    const seeds = proposeConfigs({ sizes, tried: [], evaluated: [], dx: 'min', dy: 'min', initial: 2, count: 4, seed: 1 });
    expect(seeds.length).toBe(2);
    expect(proposeConfigs({ sizes, tried: seeds, evaluated: [], dx: 'min', dy: 'min', initial: 2, count: 4, seed: 1 })).toEqual([]);
    const evaluated: EvaluatedConfig[] = [
      { indices: [0, 0], x: 1, y: 10 },
      { indices: [4, 4], x: 10, y: 1 },
      { indices: [2, 2], x: 11, y: 11 },
    ];
    const next = proposeConfigs({ sizes, tried: evaluated.map((e) => e.indices), evaluated, dx: 'min', dy: 'min', initial: 2, count: 4, seed: 1 });
    const frontierNeighbours = new Set([...bruteNeighbours([0, 0], sizes), ...bruteNeighbours([4, 4], sizes)]);
    expect(next.map((n) => n.join(',')).sort()).toEqual([...frontierNeighbours].sort());
  });

  it('never proposes a configuration twice and stops when the grid is exhausted', () => {
    const sizes = [3, 3];
    const r = mulberry32(3);
    const tried: number[][] = [];
    const evaluated: EvaluatedConfig[] = [];
    for (;;) {
      const next = proposeConfigs({ sizes, tried, evaluated, dx: 'min', dy: 'max', initial: 2, count: 2, seed: 5 });
      if (!next.length) break;
      for (const c of next) {
        tried.push(c);
        evaluated.push({ indices: c, x: r.nextFloat(), y: r.nextFloat() });
      }
    }
    expect(new Set(tried.map((t) => t.join(','))).size).toBe(tried.length);
    expect(tried.length).toBe(9);
  });
});
