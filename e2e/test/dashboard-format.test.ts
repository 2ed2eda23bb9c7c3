/** The dashboard's pure formatting and chart geometry, checked by hand-computed values. */
import { describe, expect, it } from 'vitest';
import { chartGeometry, ticks } from '../../apps/web/client/chart-geometry';
import { formatBytes, formatDuration, formatMetric, formatRatio, recipeSummary, runDuration } from '../../apps/web/client/format';

describe('dashboard formatting', () => {
  it('formats bytes, durations, ratios and metrics', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(336_000)).toBe('328 KB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.00 GB');
    expect(formatDuration(265)).toBe('265 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(245_000)).toBe('4 min 05 s');
    expect(formatDuration(7_380_000)).toBe('2 h 03 min');
    expect(runDuration('2026-01-01T00:00:00Z', '2026-01-01T00:00:02.5Z', 0)).toBe(2500);
    expect(runDuration(null, null, 0)).toBeNull();
    expect(formatRatio(0.45123)).toBe('0.451×');
    expect(formatRatio(undefined)).toBe('—');
    expect(formatMetric('parameters', 139617)).toBe('139,617');
    expect(formatMetric('perplexity', 418.5123)).toBe('418.5');
    expect(formatMetric('size.bytes', 2048)).toBe('2.00 KB');
    expect(recipeSummary({ steps: [{ technique: 'quantize.rtn-int8' }, { technique: 'finetune.recover' }] })).toBe('quantize.rtn-int8 → finetune.recover');
    expect(recipeSummary(null)).toBe('—');
  });

  it('maps a series onto the plot box, y pointing down', () => {
    const box = { width: 110, height: 60, left: 10, right: 0, top: 0, bottom: 10 };
    // Plot area: x in [10, 110], y in [0, 50]. Lowest value at the bottom, highest at the top.
    const g = chartGeometry([{ x: 0, y: 4 }, { x: 5, y: 2 }, { x: 10, y: 0 }], box, 3);
    expect(g.path).toBe('M10 0 L60 25 L110 50');
    expect(g.yTicks).toEqual([{ value: 0, at: 50 }, { value: 2, at: 25 }, { value: 4, at: 0 }]);
    expect(g.xTicks.map((t) => t.at)).toEqual([10, 60, 110]);
    // A flat series sits mid-height instead of dividing by zero.
    expect(chartGeometry([{ x: 1, y: 3 }, { x: 2, y: 3 }], box).path).toBe('M10 25 L110 25');
    expect(chartGeometry([], box).path).toBe('');
    expect(ticks(5, 5, 4)).toEqual([5]);
  });
});
