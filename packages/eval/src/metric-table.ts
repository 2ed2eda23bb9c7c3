/**
 * The aligned metric table of a comparison: one row per metric name any run recorded,
 * one cell per run, each with its reference value (the run's own base model for catalogue
 * metrics, or a chosen baseline run's value), the difference, the ratio and whether the
 * change is an improvement in the catalogue's direction. The API's `compareRuns` builds it;
 * its row and cell types are also the shapes the dashboard reads back.
 */
import { describeMetric, metricCatalogue } from './metric-catalogue';

export interface MetricCell {
  runId: string;
  value: number | null;
  reference: number | null;
  delta: number | null;
  ratio: number | null;
  /** null when either value is missing, the metric has no direction, or they are equal. */
  better: boolean | null;
}

export interface MetricTableRow {
  name: string;
  label: string | null;
  unit: string | null;
  lowerIsBetter: boolean | null;
  family: string | null;
  cells: MetricCell[];
}

export type RunValues = ReadonlyMap<string, number>;

/** The name under which a run stored its base model's value of `name`, when the catalogue has one. */
export function baseNameOf(name: string): string | null {
  const d = describeMetric(name);
  if (!d || d.scope !== 'model') return null;
  return metricCatalogue[d.key].names.base ?? null;
}

/**
 * `runs` in display order with their latest values by name; `baseline`: the values of the
 * reference run, or null to compare each run with its own base model.
 */
export function metricTable(runs: readonly { id: string; values: RunValues }[], baseline: RunValues | null): MetricTableRow[] {
  const names = new Set<string>();
  for (const r of runs) for (const n of r.values.keys()) names.add(n);
  // Catalogue metrics first, then a step's own figures; each group by name.
  const sorted = [...names].sort((a, b) => Number(!describeMetric(a)) - Number(!describeMetric(b)) || a.localeCompare(b));
  return sorted.map((name) => {
    const d = describeMetric(name);
    const lowerIsBetter = d?.lowerIsBetter ?? null;
    const baseName = baseline ? null : baseNameOf(name);
    const cells = runs.map(({ id, values }) => {
      const value = values.get(name) ?? null;
      const reference = (baseline ? baseline.get(name) : baseName ? values.get(baseName) : undefined) ?? null;
      const delta = value !== null && reference !== null ? value - reference : null;
      const ratio = value !== null && reference !== null && reference !== 0 ? value / reference : null;
      const better = delta === null || delta === 0 || lowerIsBetter === null ? null : lowerIsBetter ? delta < 0 : delta > 0;
      return { runId: id, value, reference, delta, ratio, better };
    });
    return { name, label: d?.label ?? null, unit: d?.unit ?? null, lowerIsBetter, family: d?.family ?? null, cells };
  });
}
