/**
 * `distillery compare <runId...> [--baseline ID] [--json]`: compareRuns as an aligned table,
 * each cell the run's value with its change against the reference (the baseline run, or the
 * run's own base model), then the recipe settings that differ.
 */
import { parseArgs } from 'node:util';
import { apiCall } from './api-call';
import { connection } from './credentials';
import { figure, textTable } from './text-table';
import { UsageError } from './usage-error';

interface Comparison {
  runs: { id: string; status: string; baseModel: { name: string } }[];
  baseline: { id: string } | null;
  metrics: { name: string; unit: string | null; lowerIsBetter: boolean | null; cells: { runId: string; value: number | null; delta: number | null; ratio: number | null; better: boolean | null }[] }[];
  recipeDiff: { path: string; values: unknown[] }[];
}

const QUERY = `query($ids: [ID!]!, $b: ID) { compareRuns(ids: $ids, baseline: $b) {
  runs { id status baseModel { name } } baseline { id }
  metrics { name unit lowerIsBetter cells { runId value delta ratio better } }
  recipeDiff { path values } } }`;

/** "12.5 (-3.1%)": the value and its change; a mark when the change is better or worse. */
export function cellText(c: Comparison['metrics'][number]['cells'][number]): string {
  if (c.value === null) return '-';
  let change = '';
  if (c.ratio !== null && Number.isFinite(c.ratio) && c.ratio !== 1) change = `${c.ratio > 1 ? '+' : ''}${figure((c.ratio - 1) * 100)}%`;
  else if (c.delta !== null && c.delta !== 0) change = `${c.delta > 0 ? '+' : ''}${figure(c.delta)}`;
  const mark = c.better === true ? ' better' : c.better === false ? ' worse' : '';
  return change ? `${figure(c.value)} (${change}${mark})` : figure(c.value);
}

export async function compareCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { baseline: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length < 2) throw new UsageError(`compare needs at least two run ids, got ${positionals.length}`);
  const call = apiCall(await connection());
  const { compareRuns } = await call<{ compareRuns: Comparison }>(QUERY, { ids: positionals, b: values.baseline ?? null });
  if (values.json) {
    print(JSON.stringify(compareRuns));
    return;
  }
  print(`compared against ${compareRuns.baseline ? `run ${compareRuns.baseline.id}` : "each run's base model"}`);
  const header = ['metric', 'unit', ...compareRuns.runs.map((r) => r.id)];
  const rows = compareRuns.metrics.map((m) => [m.name, m.unit ?? '', ...m.cells.map(cellText)]);
  print(textTable(header, rows));
  if (compareRuns.recipeDiff.length) {
    print('');
    print(textTable(['recipe setting', ...compareRuns.runs.map((r) => r.id)], compareRuns.recipeDiff.map((d) => [d.path, ...d.values.map((v) => (v === null ? '-' : JSON.stringify(v)))])));
  }
}
