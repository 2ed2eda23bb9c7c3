/** The dashboard's pure view logic (summary, compare, runs list, trade-off points, number formats), by hand-computed values. */
import { describe, expect, it } from 'vitest';
import { defaultBaseModel } from '../../apps/web/client/base-model-choice';
import { alignMetrics, flattenJson, parseCompareIds, recipeDiff } from '../../apps/web/client/compare';
import { axisScale, axisTick, axisTitle, formatCell, formatDelta, formatInUnit, formatMetricValue, formatScore, headerUnit } from '../../apps/web/client/metric-format';
import type { Metric, ModelSummary, RunRow, RunStatus } from '../../apps/web/client/queries';
import { summaryRows } from '../../apps/web/client/run-summary';
import { filterByFamily, mergeNewest, sortRuns, stepSummaries } from '../../apps/web/client/runs-view';
import { frontierLine, scatterPoints } from '../../apps/web/client/tradeoff-points';
import { evaluationSamples } from '../../apps/web/client/run-evaluation';
import { groupSeries } from '../../apps/web/client/series-groups';
import { batches } from '../../apps/web/client/batches';
import { escapeHtml } from '../../apps/web/client/escape-html';

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function run(n: number, metrics: Record<string, number>, opts: { status?: RunStatus; steps?: { technique: string; params?: Record<string, unknown> }[]; base?: string; createdAt?: string } = {}): RunRow {
  const rows: Metric[] = Object.entries(metrics).map(([name, value]) => ({ name, value, step: null, runStepId: null }));
  // A step's own figure of the same name must never be taken for the run's.
  rows.push({ name: 'perplexity', value: 1e9, step: null, runStepId: 'step-x' });
  return {
    id: ID(n),
    status: opts.status ?? 'succeeded',
    recipe: { steps: (opts.steps ?? [{ technique: 'quantize.rtn' }]).map((s) => ({ technique: s.technique, params: s.params ?? {} })) },
    progress: 1,
    progressMessage: null,
    createdAt: opts.createdAt ?? `2026-01-0${n}T00:00:00Z`,
    startedAt: null,
    finishedAt: null,
    error: null,
    baseModel: { id: opts.base ?? 'm1', name: 'tiny' },
    metrics: rows,
  };
}

describe('number formats', () => {
  it('reads figures in their catalogue units', () => {
    expect(formatMetricValue('size.bytes', 10.6 * 1024 * 1024)).toBe('10.6 MB');
    expect(formatMetricValue('perplexity', 49.5678)).toBe('49.57');
    expect(formatMetricValue('perplexity', 418.51)).toBe('418.5');
    expect(formatMetricValue('perplexity', 3.14159)).toBe('3.142');
    expect(formatMetricValue('latency.decodeMs.p50', 1.2345)).toBe('1.23 ms/token');
    expect(formatMetricValue('divergence.top1', 0.9234)).toBe('92.3 %');
    expect(formatMetricValue('ratio.size', 0.51234)).toBe('0.512×');
    expect(formatMetricValue('parameters', 5_261_568)).toBe('5.26 M');
    expect(formatMetricValue('divergence.kl', 0.01234)).toBe('0.0123 nats/token');
    expect(formatDelta(-2.5 * 1024 * 1024, 'bytes')).toBe('−2.50 MB');
    expect(formatDelta(0.021, 'fraction')).toBe('+2.1 pt');
    expect(formatDelta(0, '')).toBe('±0');
    expect(formatScore(1234.56)).toBe('1,234.6');
    expect(formatInUnit(Number.NaN, 'bytes')).toBe('—');
    expect(axisTitle('Size on disk', 'bytes')).toBe('Size on disk (MB)');
    expect(axisTitle('Decode time per token, p50', 'ms')).toBe('Decode time per token, p50 (ms/token)');
    // Axes plot MB and %, so ticks fall on round numbers of what is shown.
    expect(axisScale('bytes') * 2 * 1024 ** 2).toBe(2);
    expect(axisTick(2.5, 'bytes')).toBe('2.5');
    expect(axisTick(8, '')).toBe('8');
    // Table cells leave long units to the header.
    expect(formatCell('divergence.kl', 0.050412)).toBe('0.0504');
    expect(headerUnit('divergence.kl')).toBe('nats/token');
    expect(formatCell('size.bytes', 3 * 1024 ** 2)).toBe('3.00 MB');
    expect(headerUnit('size.bytes')).toBe('');
  });

  it('escapes text that goes into chart tooltips', () => {
    expect(escapeHtml('<img src=x onerror="alert(1)">&\'')).toBe('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;');
  });
});

describe('run summary', () => {
  it('pairs base and output figures with difference, ratio and verdict by direction', () => {
    const rows = summaryRows(
      run(1, { 'size.bytes': 3e6, 'base.size.bytes': 12e6, perplexity: 52, 'base.perplexity': 50, 'divergence.top1': 0.9, 'eval.maxTokens': 1000 }).metrics,
    );
    expect(rows.map((r) => [r.key, r.base, r.output, r.delta, r.ratio, r.verdict])).toEqual([
      ['sizeBytes', 12e6, 3e6, -9e6, 0.25, 'better'],
      ['perplexity', 50, 52, 2, 1.04, 'worse'],
      // Only the output has agreement: no delta, so no verdict.
      ['top1Agreement', null, 0.9, null, null, 'neutral'],
    ]);
    expect(rows[0]!.label).toBe('Size on disk');
  });
});

describe('compare', () => {
  it('aligns output figures, differences from the reference and the best by direction', () => {
    const a = run(1, { perplexity: 50, 'size.bytes': 4e6, 'divergence.top1': 0.9, 'base.perplexity': 40 });
    const b = run(2, { perplexity: 45, 'size.bytes': 6e6 });
    const c = run(3, { perplexity: 45, 'divergence.top1': 0.95 });
    const m = alignMetrics([a, b, c], 0);
    const byName = new Map(m.map((x) => [x.name, x]));
    // Base figures repeat across runs: left out.
    expect(byName.has('base.perplexity')).toBe(false);
    expect(byName.get('perplexity')).toMatchObject({ values: [50, 45, 45], deltas: [0, -5, -5], best: [1, 2] });
    expect(byName.get('size.bytes')).toMatchObject({ values: [4e6, 6e6, null], deltas: [0, 2e6, null], best: [0] });
    expect(byName.get('divergence.top1')).toMatchObject({ values: [0.9, null, 0.95], best: [2] });
    // Against run 2 instead.
    expect(alignMetrics([a, b], 1).find((x) => x.name === 'perplexity')!.deltas).toEqual([5, 0]);
  });

  it('lists the recipe settings that differ', () => {
    expect([...flattenJson({ steps: [{ technique: 'q', params: { bits: 4, skip: [] } }] })]).toEqual([
      ['steps[0].technique', '"q"'],
      ['steps[0].params.bits', '4'],
      ['steps[0].params.skip', '[]'],
    ]);
    const diff = recipeDiff([
      { steps: [{ technique: 'quantize.rtn', params: { bits: 4, symmetric: true } }] },
      { steps: [{ technique: 'quantize.rtn', params: { bits: 3, symmetric: true } }, { technique: 'finetune.recover', params: {} }] },
    ]);
    expect(diff).toEqual([
      { path: 'steps[0].params.bits', values: ['4', '3'] },
      { path: 'steps[1].params', values: [null, '{}'] },
      { path: 'steps[1].technique', values: [null, '"finetune.recover"'] },
    ]);
  });

  it('refuses compare links with fewer than two, more than 100 or malformed ids', () => {
    expect(parseCompareIds(`${ID(1)},${ID(2)},${ID(1)}`)).toEqual([ID(1), ID(2)]);
    expect(() => parseCompareIds(ID(1))).toThrow(/at least two/);
    expect(() => parseCompareIds(Array.from({ length: 101 }, (_, i) => ID(i)).join(','))).toThrow(/At most 100/);
    expect(() => parseCompareIds(`${ID(1)},<b>`)).toThrow(/"<b>" is not a run id/);
  });
});

describe('runs list', () => {
  it('shows the parameters that differ from the defaults, so same-technique runs read apart', () => {
    const defaults = new Map([['quantize.rtn', { bits: 4, symmetric: true, skip: [] }]]);
    expect(stepSummaries({ steps: [{ technique: 'quantize.rtn', params: { bits: 3, symmetric: true, skip: [] } }] }, defaults)).toEqual([{ technique: 'quantize.rtn', changed: 'bits=3' }]);
    expect(stepSummaries({ steps: [{ technique: 'quantize.rtn', params: { bits: 4, symmetric: true, skip: ['lm_head'] } }] }, defaults)).toEqual([
      { technique: 'quantize.rtn', changed: 'skip=["lm_head"]' },
    ]);
    expect(stepSummaries({ steps: [{ technique: 'quantize.rtn', params: { bits: 4, symmetric: true, skip: [] } }] }, defaults)[0]!.changed).toBe('');
    expect(stepSummaries('not a recipe', defaults)).toEqual([]);
  });

  it('sorts by a metric with missing values last, filters by technique family, merges the newest page', () => {
    const runs = [run(1, { perplexity: 30 }), run(2, {}), run(3, { perplexity: 10 }, { steps: [{ technique: 'prune.magnitude' }] }), run(4, { perplexity: 20 })];
    const ids = (rs: RunRow[]) => rs.map((r) => r.id.slice(-1));
    expect(ids(sortRuns(runs, { key: 'metric:perplexity', descending: false }))).toEqual(['3', '4', '1', '2']);
    expect(ids(sortRuns(runs, { key: 'metric:perplexity', descending: true }))).toEqual(['1', '4', '3', '2']);
    expect(ids(sortRuns(runs, { key: 'createdAt', descending: true }))).toEqual(['4', '3', '2', '1']);
    const familyOf = new Map([['quantize.rtn', 'quantize'], ['prune.magnitude', 'prune']]);
    expect(ids(filterByFamily(runs, 'prune', familyOf))).toEqual(['3']);
    expect(filterByFamily(runs, '', familyOf)).toHaveLength(4);
    const updated = { ...runs[0]!, status: 'failed' as const };
    const merged = mergeNewest(runs, [run(5, {}), updated]);
    expect(ids(merged)).toEqual(['5', '1', '2', '3', '4']);
    expect(merged[1]!.status).toBe('failed');
  });

  it('defaults a new run to the base model most runs used, else the first import', () => {
    const model = (id: string, createdAt: string, extra: Partial<ModelSummary> = {}): ModelSummary => ({ id, status: 'ready', error: null, name: id, bytes: 1, parameterCount: 1, createdAt, producedByRun: null, ...extra });
    const models = [model('late', '2026-01-03'), model('first', '2026-01-01'), model('out', '2026-01-00', { producedByRun: { id: 'r' } }), model('busy', '2025-12-01', { status: 'importing' })];
    expect(defaultBaseModel(models, [])).toBe('first');
    expect(defaultBaseModel(models, ['late', 'first', 'late'])).toBe('late');
    // A tie goes to the more recent (runs come newest first).
    expect(defaultBaseModel(models, ['first', 'late'])).toBe('first');
    expect(defaultBaseModel(models, ['busy'])).toBe('first');
    expect(defaultBaseModel([], [])).toBeNull();
  });
});

describe('trade-off points', () => {
  it('plots succeeded runs with both figures and their base models, marking the frontier', () => {
    const runs = [
      run(1, { 'size.bytes': 1e6, perplexity: 30, 'base.size.bytes': 4e6, 'base.perplexity': 20 }),
      run(2, { 'size.bytes': 2e6, perplexity: 22 }),
      run(3, { 'size.bytes': 3e6, perplexity: 25 }),
      run(4, { 'size.bytes': 1e6, perplexity: 10 }, { status: 'failed' }),
      run(5, { 'size.bytes': 1e6 }),
    ];
    const pts = scatterPoints(runs, 'size.bytes', 'perplexity', (r) => `run ${r.id.slice(-1)}`);
    expect(pts.map((p) => [p.key.slice(-6), p.kind, p.x, p.y, p.frontier])).toEqual([
      ['000001', 'run', 1e6, 30, true],
      ['000002', 'run', 2e6, 22, true],
      ['000003', 'run', 3e6, 25, false],
      ['ase:m1', 'base', 4e6, 20, false],
    ]);
    expect(frontierLine(pts).map((p) => p.label)).toEqual(['run 1', 'run 2']);
    // Top-1 agreement is higher-is-better: the frontier flips accordingly.
    const agree = scatterPoints([run(1, { 'size.bytes': 1, 'divergence.top1': 0.8 }), run(2, { 'size.bytes': 2, 'divergence.top1': 0.7 })], 'size.bytes', 'divergence.top1', () => '');
    expect(agree.map((p) => p.frontier)).toEqual([true, false]);
    expect(scatterPoints([run(5, { 'size.bytes': 1 })], 'size.bytes', 'perplexity', () => '')).toEqual([]);
  });
});

describe('run page pieces', () => {
  it('reads samples tolerantly and groups curves by their figure', () => {
    const evaluation = {
      samples: [
        { prompt: 'Call me', output: { greedy: 'Ishmael', sampled: 'Ahab' }, base: { greedy: 'Ishmael.', sampled: 'a whale' } },
        { prompt: 'No base', output: { greedy: 'x', sampled: 'y' }, base: null },
        { prompt: 3, output: {} },
      ],
    };
    expect(evaluationSamples(evaluation)).toEqual([
      { prompt: 'Call me', output: { greedy: 'Ishmael', sampled: 'Ahab' }, base: { greedy: 'Ishmael.', sampled: 'a whale' } },
      { prompt: 'No base', output: { greedy: 'x', sampled: 'y' }, base: null },
    ]);
    expect(evaluationSamples(null)).toEqual([]);
    expect(groupSeries(['steps.0.train.loss', 'steps.0.eval.loss', 'steps.1.train.lr'])).toEqual([
      { title: 'loss', names: ['steps.0.eval.loss', 'steps.0.train.loss'] },
      { title: 'steps.1.train.lr', names: ['steps.1.train.lr'] },
    ]);
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(() => batches([1], 0)).toThrow(/positive integer/);
  });
});
