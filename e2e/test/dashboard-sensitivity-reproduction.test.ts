/** The run page's pure view logic for the sensitivity heatmap and the reproduction verdict, by hand-computed values. */
import { describe, expect, it } from 'vitest';
import { formatMeasure, heatmapOption } from '../../apps/web/client/heatmap-option';
import { reproductionView, toleranceText, verdictHeadline, type MetricReproduction, type Reproduction } from '../../apps/web/client/reproduction';
import { layerAxisLabels, mostSensitive, probeLabel, sensitivityGrid, type LayerSensitivity } from '../../apps/web/client/sensitivity-heatmap';

function row(layer: string, probe: { bits: number } | { sparsity: number }, kl: number | null, top1: number | null, pplDelta: number | null): LayerSensitivity {
  return { layer, weights: 64, bits: 'bits' in probe ? probe.bits : null, sparsity: 'sparsity' in probe ? probe.sparsity : null, bitsPerWeight: 'bits' in probe ? probe.bits + 0.5 : null, kl, top1, pplDelta };
}

describe('sensitivity heatmap grid', () => {
  // Stored in model order, probes interleaved and out of order.
  const rows = [
    row('blocks.0.q', { sparsity: 0.5 }, 0.02, 0.98, 0.1),
    row('blocks.0.q', { bits: 4 }, 0.01, 0.99, 0.05),
    row('blocks.0.q', { bits: 2 }, 0.4, 0.7, 3.5),
    row('blocks.1.down', { bits: 2 }, 0.9, 0.5, null),
    row('blocks.1.down', { bits: 4 }, 0.03, 0.97, 0.2),
    row('blocks.1.down', { sparsity: 0.5 }, null, 0.9, 0.6),
  ];

  it('puts layers down in model order and probes across, bits (fewest first) before sparsity', () => {
    const g = sensitivityGrid(rows, 'kl');
    expect(g.layers).toEqual(['blocks.0.q', 'blocks.1.down']);
    expect(g.probes).toEqual(['2-bit', '4-bit', '50% pruned']);
    const at = (layer: string, probe: string) => g.cells.find((c) => g.layers[c.y] === layer && g.probes[c.x] === probe)!;
    expect(at('blocks.0.q', '2-bit').value).toBe(0.4);
    expect(at('blocks.1.down', '50% pruned').value).toBeNull();
    expect([g.min, g.max]).toEqual([0.01, 0.9]);
  });

  it('orients every measure so that higher means more sensitive', () => {
    const drop = sensitivityGrid(rows, 'top1Drop');
    expect(mostSensitive(drop)!.row).toBe(rows[3]);
    expect(drop.min).toBeCloseTo(0.01, 12);
    expect(drop.max).toBeCloseTo(0.5, 12);
    const ppl = sensitivityGrid(rows, 'pplDelta');
    // The 2-bit cell of blocks.1.down has no finite perplexity: the 2-bit cell of blocks.0.q leads.
    expect(mostSensitive(ppl)!.row).toBe(rows[2]);
    expect(mostSensitive(sensitivityGrid([row('a', { bits: 2 }, null, null, null)], 'kl'))).toBeNull();
  });

  it('labels probes and measures as people read them', () => {
    expect(probeLabel({ bits: 3, sparsity: null })).toBe('3-bit');
    expect(probeLabel({ bits: null, sparsity: 0.125 })).toBe('12.5% pruned');
    expect(formatMeasure(0.01234, 'kl')).toBe('0.0123');
    expect(formatMeasure(0.25, 'top1Drop')).toBe('25.0 %');
    expect(formatMeasure(3.5, 'pplDelta')).toBe('+3.500');
    expect(formatMeasure(null, 'kl')).toBe('not finite');
  });

  it('shortens layer names on the axis to the part that tells them apart', () => {
    expect(layerAxisLabels(['/model/layers.0/self_attn/q_proj/MatMul', '/model/layers.11/mlp/down_proj/MatMul', '/lm_head/MatMul'])).toEqual([
      '…/layers.0/self_attn/q_proj',
      'model/layers.11/mlp/down_proj',
      'lm_head',
    ]);
    // No shared op segment: names stay whole (short ones) or keep their end (long ones).
    expect(layerAxisLabels(['blocks.0.q', 'blocks.0.k'])).toEqual(['blocks.0.q', 'blocks.0.k']);
    expect(layerAxisLabels(['/a/MatMul'])).toEqual(['a/MatMul']);
    const long = 'x'.repeat(40);
    expect(layerAxisLabels([long, 'y'])[0]).toBe(`…${'x'.repeat(29)}`);
  });

  it('escapes layer names in the tooltip and leaves non-finite cells blank', () => {
    const hostile = [row('<img src=x onerror=alert(1)>', { bits: 2 }, 0.5, 0.8, 1), row('b', { bits: 2 }, null, 0.8, 1)];
    const option = heatmapOption(sensitivityGrid(hostile, 'kl'), 'kl') as { tooltip: { formatter: (p: unknown) => string }; series: { data: { value: unknown[]; cell: unknown }[] }[] };
    const data = option.series[0]!.data;
    expect(data.map((d) => d.value)).toEqual([
      [0, 0, 0.5],
      [0, 1, '-'],
    ]);
    const html = option.tooltip.formatter({ data: data[0] });
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
  });
});

describe('reproduction verdict view', () => {
  const m = (name: string, step: number | null, within: boolean | null, kind: MetricReproduction['toleranceKind'] = 'relative'): MetricReproduction => ({
    name,
    step,
    original: 1,
    rerun: within === false ? 2 : 1,
    toleranceKind: kind,
    relativeTolerance: kind === 'relative' ? 1e-6 : null,
    reason: kind === 'notCompared' ? 'timings depend on the machine' : null,
    withinTolerance: within,
  });
  const r: Reproduction = {
    verdict: 'differs',
    sameThreads: true,
    notes: [],
    compared: 5,
    outside: 2,
    metrics: [m('perplexity', null, true), m('sizeBytes', null, true, 'exact'), m('divergence.kl', null, false), m('steps.0.train.loss', 0, true), m('steps.0.train.loss', 1, false), m('latency.decodeMsPerToken', null, null, 'notCompared')],
  };

  it('lists single figures outside tolerance first, counts curve points, and sets aside what is not compared', () => {
    const v = reproductionView(r);
    expect(v.figures.map((f) => f.name)).toEqual(['divergence.kl', 'perplexity', 'sizeBytes']);
    expect(v.seriesPoints).toBe(2);
    expect(v.seriesOutside.map((f) => f.step)).toEqual([1]);
    expect(v.notCompared.map((f) => f.name)).toEqual(['latency.decodeMsPerToken']);
  });

  it('says the verdict and the tolerance in words', () => {
    expect(verdictHeadline(r)).toBe('Not reproduced: 2 of 5 compared figures are outside tolerance.');
    expect(verdictHeadline({ ...r, verdict: 'reproduced', outside: 0 })).toBe('Reproduced: all 5 compared figures are within tolerance.');
    expect(toleranceText(r.metrics[0]!)).toBe('±1e-6 relative');
    expect(toleranceText(r.metrics[1]!)).toBe('exact');
    expect(toleranceText(r.metrics[5]!)).toBe('timings depend on the machine');
  });
});
