/**
 * Compare 2..100 runs through the API's `compareRuns`: its aligned metric table (deltas
 * against each run's base model or a chosen baseline run), its recipe diff and its series.
 * What is left here is reading the link and presenting the answer. Pure.
 */
import { describeMetric } from '@distillery/eval/metric-catalogue';
import type { MetricTableRow as ComparedMetric } from '@distillery/eval/metric-table';
import type { RunRow } from './queries';

export const MAX_COMPARE = 100;

/**
 * What the page shows of each run first. Its figures come aligned in `metrics`, so the
 * run's own metrics are not asked again here (for 100 runs they doubled the answer); the
 * curves, further down, ask which series each run has when they come into view.
 */
const COMPARE_RUN = `id status recipe baseModel { id name } project { id name team { id name } }`;

export const COMPARE_RUNS = `query CompareRuns($ids: [ID!]!, $baseline: ID) {
  compareRuns(ids: $ids, baseline: $baseline) {
    runs { ${COMPARE_RUN} }
    baseline { id }
    metrics { name label unit lowerIsBetter family cells { runId value reference delta ratio better } }
    recipeDiff { path values }
  }
}`;

export const COMPARE_CURVE_NAMES = `query CompareCurveNames($ids: [ID!]!) {
  compareRuns(ids: $ids) { runs { id metrics { name step } } }
}`;

export const COMPARE_SERIES = `query CompareSeries($ids: [ID!]!, $name: String!) {
  compareRuns(ids: $ids) { series(names: [$name]) { runId points { step value } } }
}`;

/** compareRuns' metric rows and cells, as the API's metric table builds them. */
export type { MetricCell as ComparedCell, MetricTableRow as ComparedMetric } from '@distillery/eval/metric-table';

export type CompareRun = Pick<RunRow, 'id' | 'status' | 'recipe' | 'baseModel'> & {
  project: { id: string; name: string; team: { id: string; name: string } };
};

export interface Comparison {
  runs: CompareRun[];
  baseline: { id: string } | null;
  metrics: ComparedMetric[];
  recipeDiff: { path: string; values: unknown[] }[];
}

export interface ComparedSeries {
  runId: string;
  points: { step: number | null; value: number }[];
}

/** Per run id, the names of the metrics it recorded per step (curves); runs without any have an empty set. */
export function curveNamesByRun(runs: ReadonlyArray<{ id: string; metrics: ReadonlyArray<{ name: string; step: number | null }> }>): Map<string, Set<string>> {
  return new Map(runs.map((r) => [r.id, new Set(r.metrics.filter((m) => m.step !== null).map((m) => m.name))]));
}

/** The output models' figures lead (catalogue scope `model`); base, ratio, setting and step figures follow, folded. */
export function splitMetrics(metrics: ReadonlyArray<ComparedMetric>): { main: ComparedMetric[]; other: ComparedMetric[] } {
  const main: ComparedMetric[] = [];
  const other: ComparedMetric[] = [];
  for (const m of metrics) (describeMetric(m.name)?.scope === 'model' ? main : other).push(m);
  const order = (a: ComparedMetric, b: ComparedMetric) => (a.family ?? '').localeCompare(b.family ?? '') || (a.label ?? a.name).localeCompare(b.label ?? b.name);
  return { main: main.sort(order), other };
}

/** Indices of the cells with the best value in the metric's direction (ties share it); none without a direction. */
export function bestIndices(m: ComparedMetric): number[] {
  if (m.lowerIsBetter === null) return [];
  const present = m.cells.map((c) => c.value).filter((v): v is number => v !== null);
  if (present.length === 0) return [];
  const target = m.lowerIsBetter ? Math.min(...present) : Math.max(...present);
  return m.cells.flatMap((c, i) => (c.value === target ? [i] : []));
}

/** A recipe value as the diff shows it: JSON, "—" where the run's recipe has no such setting. */
export function recipeValueText(v: unknown): string {
  return v === null || v === undefined ? '—' : JSON.stringify(v);
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
