/**
 * Compare 2..100 runs: their figures aligned by metric with the difference from a
 * reference run, the best value marked by the catalogue's direction, and the recipe
 * settings that differ between them. Computed here from the runs' metrics until the API
 * answers a comparison of its own. Pure.
 */
import { describeMetric } from '@distillery/eval/metric-catalogue';
import type { RunRow } from './queries';
import { runLevelValues } from './run-summary';

export const MAX_COMPARE = 100;

export interface AlignedMetric {
  name: string;
  label: string;
  unit: string;
  lowerIsBetter: boolean | null;
  /** One per run, in the runs' order; null when that run lacks the metric. */
  values: (number | null)[];
  /** value − reference run's value; null where either is missing. */
  deltas: (number | null)[];
  /** Indices of the runs with the best value (ties share it); empty without a direction. */
  best: number[];
}

/** Output-model figures (catalogue scope `model`) only: base and settings repeat across runs. */
function comparable(name: string): boolean {
  const d = describeMetric(name);
  return d !== undefined && d.scope === 'model';
}

export function alignMetrics(runs: ReadonlyArray<RunRow>, referenceIndex = 0): AlignedMetric[] {
  const perRun = runs.map((r) => runLevelValues(r.metrics));
  const names = new Set<string>();
  for (const values of perRun) for (const name of values.keys()) if (comparable(name)) names.add(name);
  const ordered = [...names].sort((a, b) => {
    const da = describeMetric(a)!;
    const db = describeMetric(b)!;
    return da.family.localeCompare(db.family) || da.label.localeCompare(db.label);
  });
  return ordered.map((name) => {
    const d = describeMetric(name)!;
    const values = perRun.map((v) => v.get(name) ?? null);
    const ref = values[referenceIndex] ?? null;
    const deltas = values.map((v) => (v !== null && ref !== null ? v - ref : null));
    let best: number[] = [];
    if (d.lowerIsBetter !== null) {
      const present = values.filter((v): v is number => v !== null);
      if (present.length > 0) {
        const target = d.lowerIsBetter ? Math.min(...present) : Math.max(...present);
        best = values.flatMap((v, i) => (v === target ? [i] : []));
      }
    }
    return { name, label: d.label, unit: d.unit, lowerIsBetter: d.lowerIsBetter, values, deltas, best };
  });
}

/** A JSON value flattened to dotted paths of its leaves: {steps:[{params:{bits:4}}]} → "steps[0].params.bits". */
export function flattenJson(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(prefix, '[]');
    value.forEach((v, i) => flattenJson(v, `${prefix}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) out.set(prefix, '{}');
    for (const [k, v] of entries) flattenJson(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

export interface RecipeDifference {
  path: string;
  /** The JSON of the value in each run; null where the run's recipe has no such path. */
  values: (string | null)[];
}

/** Recipe settings whose values are not the same in every run, in path order. */
export function recipeDiff(recipes: ReadonlyArray<unknown>): RecipeDifference[] {
  const flat = recipes.map((r) => flattenJson(r));
  const paths = new Set<string>();
  for (const f of flat) for (const p of f.keys()) paths.add(p);
  const out: RecipeDifference[] = [];
  for (const path of [...paths].sort()) {
    const values = flat.map((f) => f.get(path) ?? null);
    if (values.some((v) => v !== values[0])) out.push({ path, values });
  }
  return out;
}

/** The ids of a compare link (`?runs=a,b,c`), deduplicated, at most MAX_COMPARE; throws naming the problem. */
export function parseCompareIds(param: string | null): string[] {
  const ids = [...new Set((param ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
  if (ids.length < 2) throw new Error('Pick at least two runs to compare (the link names fewer).');
  if (ids.length > MAX_COMPARE) throw new Error(`At most ${MAX_COMPARE} runs can be compared at once; the link names ${ids.length}.`);
  const bad = ids.find((id) => !/^[0-9a-f-]{36}$/i.test(id));
  if (bad) throw new Error(`"${bad}" is not a run id.`);
  return ids;
}
