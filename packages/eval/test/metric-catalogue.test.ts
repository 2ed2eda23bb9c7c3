import { describe, expect, it } from 'vitest';
import { catalogueNames, describeMetric, metricCatalogue, metricKeys, metricName } from '../src/metric-catalogue';

describe('metric catalogue', () => {
  it('keeps the names runs already recorded', () => {
    expect(metricName('sizeBytes', 'model')).toBe('size.bytes');
    expect(metricName('sizeBytes', 'base')).toBe('base.size.bytes');
    expect(metricName('sizeBytes', 'ratio')).toBe('ratio.size');
    expect(metricName('perplexity', 'delta')).toBe('delta.perplexity');
    expect(metricName('scoredTokens', 'base')).toBe('base.eval.tokens');
    expect(metricName('requestedStride', 'setting')).toBe('eval.requestedStride');
  });

  it('describes every stored name once, with unit and direction; a ratio is unitless', () => {
    const names = catalogueNames().map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    expect(describeMetric('base.perplexity')).toMatchObject({ key: 'perplexity', scope: 'base', lowerIsBetter: true, family: 'quality' });
    expect(describeMetric('divergence.top1')).toMatchObject({ unit: 'fraction', lowerIsBetter: false, family: 'divergence' });
    expect(describeMetric('ratio.latency.decodeMs.p95')).toMatchObject({ unit: 'ratio', lowerIsBetter: true });
    expect(describeMetric('steps.0.report.layersQuantized')).toBeUndefined();
    for (const key of metricKeys) expect(Object.keys(metricCatalogue[key].names).length).toBeGreaterThan(0);
  });

  it('refuses a scope an entry is not recorded in', () => {
    expect(() => metricName('klDivergence', 'base')).toThrow(/not recorded in scope "base"/);
  });
});
