/**
 * The search space of a sweep: recipe settings named by path (`steps[0].params.bits`,
 * the syntax errors use), each with a list of values or, for random search, a numeric
 * range. A configuration is one index (or sampled value) per parameter; applying it to
 * the sweep's recipe template gives one run's recipe.
 */
import { mulberry32 } from '@distillery/data';
import { z } from 'zod';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/;

const ValuesParameter = z.object({
  path: z.string().regex(PATH, 'a path such as steps[0].params.bits'),
  values: z.array(z.json()).min(1, 'list at least one value').max(1000, 'at most 1000 values'),
});
const RangeParameter = z
  .object({
    path: z.string().regex(PATH, 'a path such as steps[0].params.bits'),
    min: z.number(),
    max: z.number(),
    log: z.boolean().default(false),
    integer: z.boolean().default(false),
  })
  .refine((p) => p.max >= p.min, { message: 'max must be at least min', path: ['max'] })
  .refine((p) => !p.log || p.min > 0, { message: 'a log range needs min > 0', path: ['min'] });

export const SweepSpaceSchema = z
  .array(z.union([ValuesParameter, RangeParameter]))
  .min(1, 'sweep at least one parameter')
  .max(16, 'at most 16 parameters')
  .refine((ps) => new Set(ps.map((p) => p.path)).size === ps.length, { message: 'each path once' });

export type SweepSpace = z.output<typeof SweepSpaceSchema>;
export type SweepParameter = SweepSpace[number];
export type Assignment = { path: string; value: Json }[];

export class SweepSpaceError extends Error {}

function isValues(p: SweepParameter): p is z.output<typeof ValuesParameter> {
  return 'values' in p;
}

/** Grid and Pareto search need discrete values; a range has none. */
export function discreteSizes(space: SweepSpace): number[] {
  return space.map((p) => {
    if (!isValues(p)) throw new SweepSpaceError(`parameter ${p.path}: grid and pareto sweeps need a list of values, not a range`);
    return p.values.length;
  });
}

export function gridSize(space: SweepSpace): number {
  return discreteSizes(space).reduce((a, b) => a * b, 1);
}

/** The n-th grid point as one index per parameter (last parameter varies fastest). */
export function gridIndices(space: SweepSpace, n: number): number[] {
  const sizes = discreteSizes(space);
  const out = new Array<number>(sizes.length);
  for (let i = sizes.length - 1; i >= 0; i--) {
    out[i] = n % sizes[i]!;
    n = Math.floor(n / sizes[i]!);
  }
  return out;
}

export function assignmentOf(space: SweepSpace, indices: readonly number[]): Assignment {
  return space.map((p, i) => ({ path: p.path, value: (p as z.output<typeof ValuesParameter>).values[indices[i]!]! as Json }));
}

/** The `n`-th random configuration of a sweep: the same (seed, n) always gives the same one. */
export function randomAssignment(space: SweepSpace, seed: number, n: number): Assignment {
  const r = mulberry32((seed * 1_000_003 + n) >>> 0);
  return space.map((p) => {
    if (isValues(p)) return { path: p.path, value: p.values[r.nextInt(p.values.length)]! as Json };
    const u = r.nextFloat();
    let v = p.log ? Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min))) : p.min + u * (p.max - p.min);
    if (p.integer) v = Math.min(Math.floor(p.max), Math.max(Math.ceil(p.min), Math.round(v)));
    return { path: p.path, value: v };
  });
}

function parsePath(path: string): (string | number)[] {
  return [...path.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** A copy of `template` with the value at `path` set, creating objects on the way; arrays must already have the index. */
export function setPath(template: Json, path: string, value: Json): Json {
  const keys = parsePath(path);
  const root = structuredClone(template);
  let at: Json = root;
  keys.forEach((k, i) => {
    const last = i === keys.length - 1;
    if (typeof k === 'number') {
      if (!Array.isArray(at) || k >= at.length) throw new SweepSpaceError(`${path}: the recipe has no element ${k} there`);
      if (last) at[k] = value;
      else at = at[k]!;
    } else {
      if (at === null || typeof at !== 'object' || Array.isArray(at)) throw new SweepSpaceError(`${path}: "${k}" is not inside an object in the recipe`);
      if (last) at[k] = value;
      else at = at[k] ??= typeof keys[i + 1] === 'number' ? [] : {};
    }
  });
  return root;
}

export function getPath(value: Json, path: string): Json | undefined {
  let at: Json | undefined = value;
  for (const k of parsePath(path)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = Array.isArray(at) ? (typeof k === 'number' ? at[k] : undefined) : typeof k === 'string' ? at[k] : undefined;
  }
  return at;
}

export function applyAssignment(template: Json, assignment: Assignment): Json {
  return assignment.reduce((recipe, a) => setPath(recipe, a.path, a.value), template);
}

/** The grid indices of a recipe, or null when a value is not in the parameter's list. */
export function indicesOf(space: SweepSpace, recipe: Json): number[] | null {
  const out: number[] = [];
  for (const p of space) {
    if (!isValues(p)) return null;
    const v = JSON.stringify(getPath(recipe, p.path) ?? null);
    const i = p.values.findIndex((x) => JSON.stringify(x) === v);
    if (i < 0) return null;
    out.push(i);
  }
  return out;
}
