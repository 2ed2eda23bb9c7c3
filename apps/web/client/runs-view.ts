/**
 * What the runs page shows of the runs it has loaded: each run's steps with the
 * parameters that differ from the technique's defaults (so two runs of one technique read
 * differently), sorting by any metric column, and the
 * metric columns one may pick. Pure.
 */
import { catalogueNames, describeMetric } from '@distillery/eval/metric-catalogue';
import { defaultParams } from './params-schema';
import type { RunRow, Technique } from './queries';
import { runLevelValues } from './run-summary';

export interface StepSummary {
  technique: string;
  /** "bits=4, groupSize=64"; empty when every parameter is the default. */
  changed: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Steps of a stored recipe; tolerant of recipes that are not shaped as expected. */
export function recipeSteps(recipe: unknown): { technique: string; params: Record<string, unknown> }[] {
  if (!isRecord(recipe) || !Array.isArray(recipe.steps)) return [];
  return recipe.steps.map((s: unknown) => ({
    technique: isRecord(s) && typeof s.technique === 'string' ? s.technique : '?',
    params: isRecord(s) && isRecord(s.params) ? s.params : {},
  }));
}

/** Each step with the parameters that differ from `defaults[technique]`, as `name=value`. */
export function stepSummaries(recipe: unknown, defaults: ReadonlyMap<string, Record<string, unknown>>): StepSummary[] {
  return recipeSteps(recipe).map(({ technique, params }) => {
    const d = defaults.get(technique) ?? {};
    const changed = Object.entries(params)
      .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(d[k]))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
    return { technique, changed };
  });
}

/** Default parameters of every technique, keyed by id. */
export function techniqueDefaults(techniques: ReadonlyArray<Technique>): Map<string, Record<string, unknown>> {
  return new Map(techniques.map((t) => [t.id, defaultParams(t.paramsSchema)]));
}

export type SortKey = 'createdAt' | `metric:${string}`;
export interface SortState {
  key: SortKey;
  descending: boolean;
}

/** Sorted copy; runs lacking the sorted metric go last either way; ties keep newest first. */
export function sortRuns(runs: ReadonlyArray<RunRow>, sort: SortState): RunRow[] {
  const withValues = runs.map((run, i) => {
    let v: number | null;
    if (sort.key === 'createdAt') v = Date.parse(run.createdAt);
    else v = runLevelValues(run.metrics).get(sort.key.slice('metric:'.length)) ?? null;
    return { run, v, i };
  });
  withValues.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === null ? (b.v === null ? a.i - b.i : 1) : -1;
    const d = sort.descending ? b.v - a.v : a.v - b.v;
    return d !== 0 ? d : a.i - b.i;
  });
  return withValues.map((w) => w.run);
}

export interface MetricColumn {
  name: string;
  label: string;
  unit: string;
}

/** Metrics a column may show: the output's figures and the output/base ratios, by family. */
export function metricColumnChoices(): MetricColumn[] {
  return catalogueNames()
    .filter(({ description: d }) => (d.scope === 'model' || d.scope === 'ratio') && d.family !== 'setting')
    .map(({ name, description: d }) => ({ name, label: d.label, unit: d.unit }));
}

export const DEFAULT_COLUMNS = ['ratio.size', 'size.bytes', 'perplexity', 'divergence.kl', 'latency.decodeMs.p50'];

/** Short header for a column: the catalogue label, trimmed of its parenthesised note. */
export function columnTitle(name: string): string {
  const d = describeMetric(name);
  if (!d) return name;
  return d.label.replace(/\s*\([^)]*\)/g, '');
}

/** The newest page merged over what is loaded: updated rows replaced in place, new rows put first. */
export function mergeNewest(loaded: ReadonlyArray<RunRow>, newest: ReadonlyArray<RunRow>): RunRow[] {
  const byId = new Map(newest.map((r) => [r.id, r]));
  const known = new Set(loaded.map((r) => r.id));
  const fresh = newest.filter((r) => !known.has(r.id));
  return [...fresh, ...loaded.map((r) => byId.get(r.id) ?? r)];
}
