/**
 * Which settings differ between recipes: each recipe is flattened into leaf paths in the
 * syntax users write (`steps[0].params.bits`), and a path is reported when its value is
 * not the same in every recipe (a path missing from one counts as a difference).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface RecipeDifference {
  path: string;
  /** One value per recipe, in the order given; null where the path is absent. */
  values: (Json | null)[];
}

/** Leaf values of a JSON value by path; empty objects and arrays count as leaves. */
export function flattenJson(value: Json, prefix = '', out = new Map<string, Json>()): Map<string, Json> {
  if (Array.isArray(value) && value.length) {
    value.forEach((v, i) => flattenJson(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flattenJson(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

export function recipeDiff(recipes: readonly Json[]): RecipeDifference[] {
  const flat = recipes.map((r) => flattenJson(r));
  const paths = new Set<string>();
  for (const f of flat) for (const p of f.keys()) paths.add(p);
  const out: RecipeDifference[] = [];
  for (const path of [...paths].sort()) {
    const values = flat.map((f) => (f.has(path) ? f.get(path)! : null));
    const keys = new Set(flat.map((f) => (f.has(path) ? JSON.stringify(f.get(path)) : '\u0000absent')));
    if (keys.size > 1) out.push({ path, values });
  }
  return out;
}
