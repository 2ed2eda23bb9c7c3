import { describe, expect, it } from 'vitest';
import { defaultSuiteSettings, describeMetric, type ModelFigures } from '@distillery/eval';
import { runMetrics } from '../src/run-metrics';

const figures = (bytes: number, parameters: number, perplexity: number | null, extra: ModelFigures = {}): ModelFigures => ({
  sizeBytes: bytes,
  parameters,
  ...(perplexity === null ? {} : { perplexity, nll: Math.log(perplexity), scoredTokens: 100, windows: 2, window: 64, stride: 64 }),
  ...extra,
});
const settings = { ...defaultSuiteSettings(2), stride: 8 };

describe('runMetrics', () => {
  it('names every figure once by the catalogue, compares with the base, and keeps only numeric report entries', () => {
    const metrics = runMetrics({
      steps: [
        { index: 0, runStepId: 's0', report: { layersQuantized: 15, skippedLayers: 'a,b', weird: Number.NaN }, bytes: 500, parameters: 90 },
        { index: 1, runStepId: 's1', report: { layersQuantized: 14 }, bytes: 400, parameters: 90 },
      ],
      final: figures(400, 90, 12, { klDivergence: 0.02, top1Agreement: 0.9, decodeMsP95: 3 }),
      base: figures(1600, 100, 10, { decodeMsP95: 4 }),
      settings,
    });
    const names = metrics.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    const get = (n: string) => metrics.find((m) => m.name === n);
    expect(get('ratio.size')!.value).toBe(0.25);
    expect(get('ratio.parameters')!.value).toBe(0.9);
    expect(get('delta.perplexity')!.value).toBe(2);
    expect(get('ratio.perplexity')!.value).toBeCloseTo(1.2, 12);
    expect(get('divergence.kl')!.value).toBe(0.02);
    expect(get('ratio.latency.decodeMs.p95')!.value).toBe(0.75);
    expect(get('steps.1.report.layersQuantized')).toEqual({ name: 'steps.1.report.layersQuantized', value: 14, runStepId: 's1' });
    expect(get('steps.0.report.skippedLayers')).toBeUndefined();
    expect(get('steps.0.report.weird')).toBeUndefined();
    expect(get('eval.requestedWindow')!.value).toBe(0);
    expect(get('eval.requestedStride')!.value).toBe(8);
    expect(get('eval.ortThreads')!.value).toBe(2);
    expect(get('base.eval.window')!.value).toBe(64);
    expect(get('eval.perplexitySkipped')).toBeUndefined();
    // Every evaluation figure is a catalogue name; only step figures are outside it.
    for (const n of names) if (!n.startsWith('steps.')) expect(describeMetric(n), n).toBeDefined();
  });

  it('records a skipped perplexity and no perplexity comparison', () => {
    const metrics = runMetrics({ steps: [], final: figures(10, 5, null), base: figures(20, 5, null), settings });
    const names = metrics.map((m) => m.name);
    expect(names).toContain('eval.perplexitySkipped');
    expect(names.some((n) => n.includes('perplexity') && n !== 'eval.perplexitySkipped')).toBe(false);
    expect(names).toContain('ratio.size');
  });
});
