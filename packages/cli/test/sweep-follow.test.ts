/** The sweep tally the CLI shows while following a sweep, checked without a server. */
import { describe, expect, it } from 'vitest';
import { bestRun, sweepMetric, tally, type SweepRun, type SweepState } from '../src/sweep-follow';
import { UsageError } from '../src/usage-error';

const run = (id: string, status: SweepRun['status'], size?: number): SweepRun => ({ id, status, error: null, metrics: size === undefined ? [] : [{ name: 'ratio.size', value: size }] });

const state = (over: Partial<SweepState>): SweepState => ({ id: 's', name: 'n', status: 'active', note: null, mode: 'grid', maxRuns: 5, objective: null, runs: [], ...over });

describe('sweep tally', () => {
  it('ranks only succeeded runs, in the metric catalogue direction, and agrees with sorting', () => {
    const runs = [run('a', 'succeeded', 0.5), run('b', 'failed', 0.1), run('c', 'succeeded', 0.3), run('d', 'running', 0.2), run('e', 'succeeded')];
    const size = sweepMetric(state({}), 'ratio.size')!;
    expect(size.direction).toBe('min');
    expect(bestRun(runs, size)).toEqual({ runId: 'c', value: 0.3 });
    // Reference: sort the eligible runs and take the first.
    const sorted = runs.filter((r) => r.status === 'succeeded' && r.metrics.length).sort((x, y) => x.metrics[0]!.value - y.metrics[0]!.value);
    expect(bestRun(runs, size)?.runId).toBe(sorted[0]!.id);
    expect(bestRun(runs, { name: 'ratio.size', direction: 'max' })).toEqual({ runId: 'a', value: 0.5 });
  });

  it('counts finished runs against maxRuns while active and against the runs it has once ended', () => {
    const runs = [run('a', 'succeeded', 0.5), run('b', 'running'), run('c', 'canceled')];
    const size = sweepMetric(state({}), 'ratio.size');
    expect(tally(state({ runs }), size)).toMatchObject({ finished: 2, total: 5, line: '2/5 runs done, 1 running · best ratio.size 0.5000 (run a)' });
    expect(tally(state({ runs, status: 'canceled' }), null)).toMatchObject({ finished: 2, total: 3, best: '', line: '2/3 runs done, 1 running' });
  });

  it("takes a pareto sweep's second objective and its stated direction by default, and refuses a metric without a direction", () => {
    expect(sweepMetric(state({ objective: { y: 'ratio.size', yLowerIsBetter: false } }), undefined)).toEqual({ name: 'ratio.size', direction: 'max' });
    expect(sweepMetric(state({}), undefined)).toBeNull();
    expect(() => sweepMetric(state({}), 'no.such.metric')).toThrow(UsageError);
  });
});
