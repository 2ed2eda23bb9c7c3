/**
 * The points of a trade-off scatter of any two catalogue metrics: one per succeeded run
 * with both figures, one per distinct base model that has both (from the base-scope
 * names), and which runs sit on the Pareto frontier. Pure.
 */
import { describeMetric, metricCatalogue } from '@distillery/eval/metric-catalogue';
import { paretoFrontier } from './pareto';
import type { RunRow } from './queries';
import { runLevelValues } from './run-summary';

export interface ScatterPoint {
  /** A run's id, or `base:<model id>` for a base model. */
  key: string;
  kind: 'run' | 'base';
  label: string;
  x: number;
  y: number;
  frontier: boolean;
}

/** The base-model name of the same figure as `name`, if the catalogue records one. */
export function baseNameOf(name: string): string | undefined {
  const d = describeMetric(name);
  if (!d || d.scope !== 'model') return undefined;
  return metricCatalogue[d.key].names.base;
}

/** Lower-is-better for the frontier; a metric with no direction counts as lower-is-better. */
export function lowerIsBetter(name: string): boolean {
  return describeMetric(name)?.lowerIsBetter ?? true;
}

export function scatterPoints(runs: ReadonlyArray<RunRow>, xName: string, yName: string, labelOf: (run: RunRow) => string): ScatterPoint[] {
  const out: ScatterPoint[] = [];
  const bases = new Map<string, ScatterPoint>();
  const bx = baseNameOf(xName);
  const by = baseNameOf(yName);
  for (const run of runs) {
    if (run.status !== 'succeeded') continue;
    const v = runLevelValues(run.metrics);
    const x = v.get(xName);
    const y = v.get(yName);
    if (x === undefined || y === undefined) continue;
    out.push({ key: run.id, kind: 'run', label: labelOf(run), x, y, frontier: false });
    const baseKey = `base:${run.baseModel.id}`;
    const baseX = bx ? v.get(bx) : undefined;
    const baseY = by ? v.get(by) : undefined;
    if (baseX !== undefined && baseY !== undefined && !bases.has(baseKey)) {
      bases.set(baseKey, { key: baseKey, kind: 'base', label: run.baseModel.name, x: baseX, y: baseY, frontier: false });
    }
  }
  const onFrontier = new Set(paretoFrontier(out, { xLowerIsBetter: lowerIsBetter(xName), yLowerIsBetter: lowerIsBetter(yName) }));
  out.forEach((p, i) => (p.frontier = onFrontier.has(i)));
  return out.length === 0 ? [] : [...out, ...bases.values()];
}

/** Frontier runs in the order the frontier line joins them (by x). */
export function frontierLine(points: ReadonlyArray<ScatterPoint>): ScatterPoint[] {
  return points.filter((p) => p.kind === 'run' && p.frontier).sort((a, b) => a.x - b.x || a.y - b.y);
}
