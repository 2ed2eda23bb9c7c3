/**
 * Follows a sweep until it ends by polling sweep(id) through the GraphQL API: a progress
 * bar of its finished runs out of its total, the best value so far of one metric, and a
 * line per run as it finishes. Polling rather than the event subscription because a
 * sweep's state (its status, runs started by the advance job) is one cheap query away.
 */
import { metricDirection, type Direction } from '@distillery/eval/pareto';
import type { Call } from './api-call';
import type { ProgressDisplay } from './progress-display';
import { UsageError } from './usage-error';

export interface SweepRun {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
  error: string | null;
  metrics: { name: string; value: number }[];
}

export interface SweepState {
  id: string;
  name: string;
  status: 'active' | 'canceling' | 'done' | 'canceled';
  note: string | null;
  mode: string;
  maxRuns: number;
  objective: { y?: string; yLowerIsBetter?: boolean | null } | null;
  runs: SweepRun[];
}

export const SWEEP_STATE_FIELDS = 'id name status note mode maxRuns objective runs { id status error metrics { name value } }';

export interface SweepMetric {
  name: string;
  direction: Direction;
}

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

/** The metric to rank by: the one asked for, else a Pareto sweep's second objective; null when there is none. */
export function sweepMetric(state: SweepState, asked: string | undefined): SweepMetric | null {
  const y = state.objective?.y;
  const name = asked ?? y;
  if (name === undefined) return null;
  const override = name === y && typeof state.objective?.yLowerIsBetter === 'boolean' ? (state.objective.yLowerIsBetter ? 'min' : 'max') : null;
  try {
    return { name, direction: metricDirection(name, override) };
  } catch (error) {
    throw new UsageError(`--metric: ${(error as Error).message}`);
  }
}

export function bestRun(runs: readonly SweepRun[], metric: SweepMetric): { runId: string; value: number } | null {
  let best: { runId: string; value: number } | null = null;
  for (const run of runs) {
    if (run.status !== 'succeeded') continue;
    const value = run.metrics.find((m) => m.name === metric.name)?.value;
    if (value === undefined || !Number.isFinite(value)) continue;
    if (best === null || (metric.direction === 'min' ? value < best.value : value > best.value)) best = { runId: run.id, value };
  }
  return best;
}

export interface SweepTally {
  finished: number;
  /** Runs the sweep will have: maxRuns while it may start more, the runs it has once it ended. */
  total: number;
  /** "best <metric> <value> (run <id>)", empty without a metric. */
  best: string;
  line: string;
}

export function tally(state: SweepState, metric: SweepMetric | null): SweepTally {
  const finished = state.runs.filter((r) => FINISHED.has(r.status)).length;
  const running = state.runs.filter((r) => r.status === 'running').length;
  const total = state.status === 'active' ? Math.max(state.maxRuns, state.runs.length) : state.runs.length;
  const best = metric ? bestRun(state.runs, metric) : null;
  const bestText = metric ? `best ${metric.name} ${best ? `${formatValue(best.value)} (run ${best.runId})` : '-'}` : '';
  return { finished, total, best: bestText, line: `${finished}/${total} runs done, ${running} running${bestText ? ` · ${bestText}` : ''}` };
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

async function readSweep(call: Call, id: string): Promise<SweepState> {
  return (await call<{ sweep: SweepState }>(`query($id: ID!) { sweep(id: $id) { ${SWEEP_STATE_FIELDS} } }`, { id })).sweep;
}

/** Polls the sweep until it is done or canceled; answers its final state. */
export async function followSweep(call: Call, id: string, askedMetric: string | undefined, progress: ProgressDisplay, intervalMs = 1000): Promise<{ state: SweepState; metric: SweepMetric | null }> {
  const reported = new Set<string>();
  let metric: SweepMetric | null | undefined;
  let status = '';
  for (;;) {
    const state = await readSweep(call, id);
    metric ??= sweepMetric(state, askedMetric);
    for (const run of state.runs) {
      if (!FINISHED.has(run.status) || reported.has(run.id)) continue;
      reported.add(run.id);
      const value = metric ? run.metrics.find((m) => m.name === metric!.name)?.value : undefined;
      progress.note(`run ${run.id} ${run.status}${value !== undefined ? ` ${metric!.name} ${formatValue(value)}` : ''}${run.error ? `: ${run.error}` : ''}`);
    }
    if (state.status !== status && status !== '') progress.note(`sweep ${id} ${status} -> ${state.status}`);
    status = state.status;
    const t = tally(state, metric);
    if (state.status === 'done' || state.status === 'canceled') {
      progress.done();
      return { state, metric };
    }
    progress.update(t.total > 0 ? t.finished / t.total : null, t.line);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
