/** The project page's size/quality trade-off plot: which points it shows and where, by hand-computed values. */
import { describe, expect, it } from 'vitest';
import type { Metric, RunRow, RunStatus } from '../../apps/web/client/queries';
import { MB, padRange, tickLabel, tradeoffGeometry, tradeoffPoints, type TradeoffPoint } from '../../apps/web/client/tradeoff-geometry';

function run(id: string, status: RunStatus, techniques: string[], metrics: Record<string, number>, base = { id: 'm1', name: 'tiny' }): RunRow {
  const rows: Metric[] = Object.entries(metrics).map(([name, value]) => ({ name, value, step: null, runStepId: null }));
  // A step-level metric of the same name must not be taken for the run's own.
  rows.push({ name: 'size.bytes', value: 1, step: null, runStepId: 'step-x' });
  return {
    id,
    status,
    recipe: { steps: techniques.map((technique) => ({ technique })) },
    progress: 1,
    progressMessage: null,
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: null,
    finishedAt: null,
    error: null,
    baseModel: base,
    metrics: rows,
  };
}

const BASE = { 'base.size.bytes': 4_000_000, 'base.perplexity': 20 };

describe('trade-off chart', () => {
  it('keeps succeeded runs with both metrics, plus one point per distinct base model', () => {
    const pts = tradeoffPoints([
      run('r1', 'succeeded', ['quantize.rtn-int8'], { 'size.bytes': 1_000_000, perplexity: 21, ...BASE }),
      run('r2', 'succeeded', ['prune.magnitude', 'finetune.recover'], { 'size.bytes': 2_000_000, perplexity: 22, ...BASE }),
      run('r3', 'succeeded', ['quantize.rtn-int8'], { 'size.bytes': 1_000_000 }), // no perplexity: left out
      run('r4', 'running', ['quantize.rtn-int8'], { 'size.bytes': 1_000_000, perplexity: 30, ...BASE }),
      run('r5', 'failed', ['quantize.rtn-int8'], { 'size.bytes': 1_000_000, perplexity: 30, ...BASE }),
      run('r6', 'succeeded', ['quantize.rtn-int8'], { 'size.bytes': 500_000, perplexity: 40, 'base.size.bytes': 2e6, 'base.perplexity': 35 }, { id: 'm2', name: 'other' }),
    ]);
    expect(pts).toEqual([
      { key: 'r1', kind: 'run', label: 'quantize.rtn-int8', bytes: 1_000_000, perplexity: 21 },
      { key: 'r2', kind: 'run', label: 'prune.magnitude → finetune.recover', bytes: 2_000_000, perplexity: 22 },
      { key: 'r6', kind: 'run', label: 'quantize.rtn-int8', bytes: 500_000, perplexity: 40 },
      { key: 'base:m1', kind: 'base', label: 'tiny', bytes: 4_000_000, perplexity: 20 },
      { key: 'base:m2', kind: 'base', label: 'other', bytes: 2_000_000, perplexity: 35 },
    ]);
    // No run with both metrics: nothing at all, not even the base model.
    expect(tradeoffPoints([run('r3', 'succeeded', ['quantize.rtn-int8'], { 'size.bytes': 1_000_000, ...BASE })])).toEqual([]);
    expect(tradeoffPoints([])).toEqual([]);
  });

  it('pads the axis ranges and maps points onto the plot box, y pointing down', () => {
    expect(padRange(10, 20)).toEqual([9, 21]);
    expect(padRange(0.5, 10.5)).toEqual([0, 11.5]); // never below zero
    expect(padRange(0, 0)).toEqual([0, 0.5]);
    // A flat or hair-thin range is widened to 2% of its largest value (8.3704 here), then padded by 10% of that:
    // 418.50 vs 418.52 must not fill the plot as if perplexity had changed a lot.
    const [lo, hi] = padRange(418.5, 418.52);
    expect(lo).toBeCloseTo(418.51 - 4.1852 - 0.83704, 9);
    expect(hi).toBeCloseTo(418.51 + 4.1852 + 0.83704, 9);
    const [flo, fhi] = padRange(5, 5);
    expect([flo, fhi].map((v) => Math.round(v * 1000) / 1000)).toEqual([4.94, 5.06]);

    const box = { width: 130, height: 70, left: 10, right: 0, top: 0, bottom: 10 };
    // Plot area: x in [10, 130] (120 wide), y in [0, 60] (60 high).
    const points: TradeoffPoint[] = [
      { key: 'r1', kind: 'run', label: 'quantize.rtn-int8', bytes: 1_000, perplexity: 30 },
      { key: 'base:m1', kind: 'base', label: 'tiny', bytes: 4_000, perplexity: 20 },
    ];
    const g = tradeoffGeometry(points, box, 3);
    // x: [1000, 4000] padded by 300 → [700, 4300]; y: [20, 30] padded by 1 → [19, 31].
    expect(g.xRange).toEqual([700, 4300]);
    expect(g.yRange).toEqual([19, 31]);
    // Run: x = 10 + 300/3600·120 = 20, y = (1 − 11/12)·60 = 5. Base: x = 10 + 3300/3600·120 = 120, y = (1 − 1/12)·60 = 55.
    expect(g.points.map(({ key, kind, cx, cy }) => ({ key, kind, cx, cy }))).toEqual([
      { key: 'r1', kind: 'run', cx: 20, cy: 5 },
      { key: 'base:m1', kind: 'base', cx: 120, cy: 55 },
    ]);
    expect(g.xTicks).toEqual([{ value: 700, at: 10 }, { value: 2500, at: 70 }, { value: 4300, at: 130 }]);
    expect(g.yTicks).toEqual([{ value: 19, at: 60 }, { value: 25, at: 30 }, { value: 31, at: 0 }]);

    // A single point sits in the middle of the plot.
    const one = tradeoffGeometry([points[0]!], box);
    expect(one.points.map((p) => [p.cx, p.cy])).toEqual([[70, 30]]);
    expect(tradeoffGeometry([], box).points).toEqual([]);
  });

  it('labels ticks with just enough decimals to tell them apart, sizes in megabytes', () => {
    expect(tickLabel(336_000 / MB, (90 * 1024) / MB)).toBe('0.32');
    expect(tickLabel(418.5123, 0.03)).toBe('418.51');
    expect(tickLabel(418.5123, 2.1)).toBe('419');
    expect(tickLabel(350, 50)).toBe('350');
    expect(tickLabel(12.5, 0)).toBe('12.50');
  });
});
