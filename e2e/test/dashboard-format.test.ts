/** The dashboard's pure formatting and chart geometry, checked by hand-computed values. */
import { describe, expect, it } from 'vitest';
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
});
