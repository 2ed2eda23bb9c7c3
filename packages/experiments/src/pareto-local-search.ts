/**
 * The next configurations of a Pareto sweep, by Pareto local search (Paquete, Chiarandini
 * & Stützle 2004, "Pareto Local Optimum Sets in the Biobjective Traveling Salesman
 * Problem", Sec. 2): evaluate the untried neighbours (one parameter one step along its
 * value list) of the current non-dominated configurations; when none is left, jump to an
 * untried configuration at random. The first `initial` picks are random, to seed a frontier;
 * after them nothing is proposed until at least one result is in.
 */
import { mulberry32 } from '@distillery/data';
import { paretoFrontier, type Direction } from '@distillery/eval/pareto';

export interface EvaluatedConfig {
  indices: number[];
  x: number;
  y: number;
}

export interface ProposalInput {
  /** Number of values of each parameter. */
  sizes: number[];
  /** Configurations already started (whatever their outcome), as index vectors. */
  tried: number[][];
  /** Finished configurations with both objectives measured. */
  evaluated: EvaluatedConfig[];
  dx: Direction;
  dy: Direction;
  /** Random picks before local search starts. */
  initial: number;
  count: number;
  seed: number;
}

const keyOf = (indices: readonly number[]): string => indices.join(',');

export function neighbours(indices: readonly number[], sizes: readonly number[]): number[][] {
  const out: number[][] = [];
  indices.forEach((v, d) => {
    for (const step of [-1, 1]) {
      const w = v + step;
      if (w >= 0 && w < sizes[d]!) out.push(indices.map((x, i) => (i === d ? w : x)));
    }
  });
  return out;
}

/** Up to `count` untried configurations; fewer when the space is exhausted. */
export function proposeConfigs(input: ProposalInput): number[][] {
  const total = input.sizes.reduce((a, b) => a * b, 1);
  const taken = new Set(input.tried.map(keyOf));
  const out: number[][] = [];
  const take = (c: number[]) => {
    const k = keyOf(c);
    if (taken.has(k)) return false;
    taken.add(k);
    out.push(c);
    return true;
  };
  const random = mulberry32((input.seed * 7919 + input.tried.length) >>> 0);
  const randomUntried = (): number[] | null => {
    if (taken.size >= total) return null;
    // Rejection sampling while the space is mostly free; a scan once it is nearly full.
    for (let attempt = 0; attempt < 64; attempt++) {
      const c = input.sizes.map((s) => random.nextInt(s));
      if (!taken.has(keyOf(c))) return c;
    }
    for (let n = 0; n < total; n++) {
      const c: number[] = [];
      let m = n;
      for (let d = input.sizes.length - 1; d >= 0; d--) {
        c[d] = m % input.sizes[d]!;
        m = Math.floor(m / input.sizes[d]!);
      }
      if (!taken.has(keyOf(c))) return c;
    }
    return null;
  };

  while (out.length < input.count && input.tried.length + out.length < input.initial) {
    const c = randomUntried();
    if (!c) return out;
    take(c);
  }
  // Local search needs a frontier: wait for the seeds' results rather than spend the budget at random.
  if (!input.evaluated.length) return out;
  {
    const front = paretoFrontier(input.evaluated.map((e, i) => ({ id: String(i), x: e.x, y: e.y })), input.dx, input.dy);
    for (const id of front.frontier) {
      for (const n of neighbours(input.evaluated[Number(id)]!.indices, input.sizes)) {
        if (out.length >= input.count) return out;
        take(n);
      }
    }
  }
  while (out.length < input.count) {
    const c = randomUntried();
    if (!c) break;
    take(c);
  }
  return out;
}
