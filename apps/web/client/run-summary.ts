/**
 * The headline of a run page: base model against output on the figures people choose by
 * (size, parameters, perplexity, divergence, latency), with the difference and ratio and
 * whether the change is for the better. Names come from the metric catalogue, never
 * assembled from strings. Pure.
 */
import { metricCatalogue, type MetricKey } from '@distillery/eval/metric-catalogue';
import type { Metric } from './queries';

/** The figures the summary leads with, in this order. */
export const SUMMARY_KEYS: readonly MetricKey[] = [
  'sizeBytes',
  'parameters',
  'bitsPerWeight',
  'perplexity',
  'klDivergence',
  'top1Agreement',
  'decodeMsP50',
  'prefillTokensPerSecond',
];

export interface SummaryRow {
  key: MetricKey;
  label: string;
  unit: string;
  base: number | null;
  output: number | null;
  /** output − base, when both are known. */
  delta: number | null;
  /** output / base, when both are known and base is not 0. */
  ratio: number | null;
  /** 'better' / 'worse' by the catalogue's direction; 'same' or 'neutral' otherwise. */
  verdict: 'better' | 'worse' | 'same' | 'neutral';
}

/** The run-level (not per-step) value of each stored name. */
export function runLevelValues(metrics: ReadonlyArray<Metric>): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics) if (m.runStepId === null && Number.isFinite(m.value)) out.set(m.name, m.value);
  return out;
}

export function summaryRows(metrics: ReadonlyArray<Metric>, keys: readonly MetricKey[] = SUMMARY_KEYS): SummaryRow[] {
  const values = runLevelValues(metrics);
  const rows: SummaryRow[] = [];
  for (const key of keys) {
    const entry = metricCatalogue[key];
    const output = entry.names.model !== undefined ? (values.get(entry.names.model) ?? null) : null;
    const base = entry.names.base !== undefined ? (values.get(entry.names.base) ?? null) : null;
    if (output === null && base === null) continue;
    const delta = output !== null && base !== null ? output - base : null;
    const ratio = output !== null && base !== null && base !== 0 ? output / base : null;
    let verdict: SummaryRow['verdict'] = 'neutral';
    if (delta !== null && entry.lowerIsBetter !== null) {
      verdict = delta === 0 ? 'same' : delta < 0 === entry.lowerIsBetter ? 'better' : 'worse';
    }
    rows.push({ key, label: entry.label, unit: entry.unit, base, output, delta, ratio, verdict });
  }
  return rows;
}

/** Names the summary already shows, so the folded details list only the rest. */
export function summarizedNames(keys: readonly MetricKey[] = SUMMARY_KEYS): Set<string> {
  const out = new Set<string>();
  for (const key of keys) for (const name of Object.values(metricCatalogue[key].names)) if (name) out.add(name);
  return out;
}
