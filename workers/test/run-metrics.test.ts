import { describe, expect, it } from 'vitest';
import { runMetrics } from '../src/run-metrics';
import type { EvaluateTaskOutput } from '../src/thread-messages';

const evaluation = (bytes: number, parameters: number, perplexity: number | null): EvaluateTaskOutput => ({
  bytes,
  parameters,
  perplexity: perplexity === null ? null : { perplexity, nll: Math.log(perplexity), tokens: 100, windows: 2, window: 64, stride: 64 },
});

describe('runMetrics', () => {
  it('names every figure once, compares with the base, and keeps only numeric report entries', () => {
    const metrics = runMetrics({
      steps: [
        { index: 0, runStepId: 's0', report: { layersQuantized: 15, skippedLayers: 'a,b', weird: Number.NaN }, bytes: 500, parameters: 90 },
        { index: 1, runStepId: 's1', report: { layersQuantized: 14 }, bytes: 400, parameters: 90 },
      ],
      final: evaluation(400, 90, 12),
      base: evaluation(1600, 100, 10),
      settings: { maxTokens: 4096, window: null, stride: 8 },
    });
    const names = metrics.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const get = (n: string) => metrics.find((m) => m.name === n);
    expect(get('ratio.size')!.value).toBe(0.25);
    expect(get('ratio.parameters')!.value).toBe(0.9);
    expect(get('delta.perplexity')!.value).toBe(2);
    expect(get('ratio.perplexity')!.value).toBeCloseTo(1.2, 12);
    expect(get('steps.1.report.layersQuantized')).toEqual({ name: 'steps.1.report.layersQuantized', value: 14, runStepId: 's1' });
    expect(get('steps.0.report.skippedLayers')).toBeUndefined();
    expect(get('steps.0.report.weird')).toBeUndefined();
    expect(get('eval.requestedWindow')!.value).toBe(0);
    expect(get('eval.requestedStride')!.value).toBe(8);
    expect(get('base.eval.window')!.value).toBe(64);
    expect(get('eval.perplexitySkipped')).toBeUndefined();
  });

  it('records a skipped perplexity and no perplexity comparison', () => {
    const metrics = runMetrics({ steps: [], final: evaluation(10, 5, null), base: evaluation(20, 5, null), settings: { maxTokens: 10, window: null, stride: null } });
    const names = metrics.map((m) => m.name);
    expect(names).toContain('eval.perplexitySkipped');
    expect(names.some((n) => n.includes('perplexity') && n !== 'eval.perplexitySkipped')).toBe(false);
    expect(names).toContain('ratio.size');
  });
});
