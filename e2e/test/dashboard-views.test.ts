/** The dashboard's pure view logic (summary, compare, runs list and its filters, trade-off points, number formats), by hand-computed values. */
import { describe, expect, it } from 'vitest';
import { baseModelChoices, defaultBaseModel } from '../../apps/web/client/base-model-choice';
import { bestIndices, curveNamesByRun, parseCompareIds, recipeValueText, splitMetrics, type ComparedMetric } from '../../apps/web/client/compare';
import { axisScale, axisTick, axisTitle, formatCell, formatDelta, formatInUnit, formatMetricValue, formatScore, headerUnit } from '../../apps/web/client/metric-format';
import type { Metric, ModelSummary, RunRow, RunStatus } from '../../apps/web/client/queries';
import { summaryRows } from '../../apps/web/client/run-summary';
import { mergeNewest, sortRuns, stepSummaries } from '../../apps/web/client/runs-view';
import { apiRunFilter, filterFromSearch, filterToSearch, NO_FILTER, parseParamCondition, parseRange, parseTagList } from '../../apps/web/client/run-filters';
import { frontierLine, paretoAnswer, runPerBase, scatterPoints, type ParetoAnswer } from '../../apps/web/client/tradeoff-points';
import { evaluationSamples } from '../../apps/web/client/run-evaluation';
import { groupSeries } from '../../apps/web/client/series-groups';
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
  it("leads with the output models' figures and marks the best of the API's values by direction", () => {
    const metric = (name: string, values: (number | null)[], lowerIsBetter: boolean | null, family = 'quality'): ComparedMetric => ({
      name,
      label: name,
      unit: '',
      lowerIsBetter,
      family,
      cells: values.map((value, i) => ({ runId: ID(i), value, reference: null, delta: null, ratio: null, better: null })),
    });
    const ppl = metric('perplexity', [50, 45, 45], true);
    const top1 = metric('divergence.top1', [0.9, null, 0.95], false);
    const { main, other } = splitMetrics([metric('base.perplexity', [40, 40, 40], true), ppl, metric('steps.0.loss', [1, 2, 3], null, ''), top1]);
    expect(main.map((m) => m.name).sort()).toEqual(['divergence.top1', 'perplexity']);
    expect(other.map((m) => m.name)).toEqual(['base.perplexity', 'steps.0.loss']);
    expect(bestIndices(ppl)).toEqual([1, 2]);
    expect(bestIndices(top1)).toEqual([2]);
    expect(bestIndices(metric('eval.tokens', [1, 2, 3], null))).toEqual([]);
    expect(bestIndices(metric('perplexity', [null, null], true))).toEqual([]);
    expect([recipeValueText(4), recipeValueText(null), recipeValueText('a'), recipeValueText({})]).toEqual(['4', '—', '"a"', '{}']);
  });

  it('knows which runs have which curves from their per-step metrics only', () => {
    const curves = curveNamesByRun([
      { id: ID(1), metrics: [{ name: 'steps.0.train.loss', step: 3 }, { name: 'steps.0.train.loss', step: 4 }, { name: 'perplexity', step: null }] },
      { id: ID(2), metrics: [{ name: 'perplexity', step: null }] },
    ]);
    expect([...curves.keys()]).toEqual([ID(1), ID(2)]);
    expect([...curves.get(ID(1))!]).toEqual(['steps.0.train.loss']);
    expect(curves.get(ID(2))!.size).toBe(0);
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

  it('sorts by a metric with missing values last, merges the newest page', () => {
    const runs = [run(1, { perplexity: 30 }), run(2, {}), run(3, { perplexity: 10 }, { steps: [{ technique: 'prune.magnitude' }] }), run(4, { perplexity: 20 })];
    const ids = (rs: RunRow[]) => rs.map((r) => r.id.slice(-1));
    expect(ids(sortRuns(runs, { key: 'metric:perplexity', descending: false }))).toEqual(['3', '4', '1', '2']);
    expect(ids(sortRuns(runs, { key: 'metric:perplexity', descending: true }))).toEqual(['1', '4', '3', '2']);
    expect(ids(sortRuns(runs, { key: 'createdAt', descending: true }))).toEqual(['4', '3', '2', '1']);
    const updated = { ...runs[0]!, status: 'failed' as const };
    const merged = mergeNewest(runs, [run(5, {}), updated]);
    expect(ids(merged)).toEqual(['5', '1', '2', '3', '4']);
    expect(merged[1]!.status).toBe('failed');
  });

  it('keeps the filters in the link and asks the API for them', () => {
    const link = 'status=succeeded&family=quantize&tags=best,+ship&param=bits%3D4&range=perplexity%3A40%3A60&range=size.bytes%3A%3A5000000&sweep=' + ID(7);
    const f = filterFromSearch(new URLSearchParams(link));
    expect(f).toEqual({
      status: 'succeeded',
      family: 'quantize',
      tags: ['best', 'ship'],
      param: { path: 'bits', equals: 4 },
      ranges: [{ name: 'perplexity', min: 40, max: 60 }, { name: 'size.bytes', min: null, max: 5000000 }],
      sweepId: ID(7),
    });
    // Round trip through the link.
    expect(filterFromSearch(new URLSearchParams(filterToSearch(f)))).toEqual(f);
    expect(apiRunFilter(f)).toEqual({
      status: 'succeeded',
      family: 'quantize',
      tags: ['best', 'ship'],
      param: { path: 'bits', equals: 4 },
      metrics: [{ name: 'perplexity', min: 40, max: 60 }, { name: 'size.bytes', min: null, max: 5000000 }],
      sweepId: ID(7),
    });
    expect(apiRunFilter(NO_FILTER)).toBeNull();
    expect(filterToSearch(NO_FILTER)).toBe('');
    // Parts of an edited link that do not parse are left out.
    expect(filterFromSearch(new URLSearchParams('status=bogus&param=nope&range=unknown.metric:1:2&range=perplexity:9:1'))).toEqual(NO_FILTER);
    expect(parseTagList(' a, b ,a,, ')).toEqual(['a', 'b']);
    expect(parseParamCondition('student.layers = 2')).toEqual({ path: 'student.layers', equals: 2 });
    expect(parseParamCondition('method=gptq')).toEqual({ path: 'method', equals: 'gptq' });
    expect(() => parseParamCondition('bits')).toThrow(/path=value/);
    expect(() => parseParamCondition('a..b=1')).toThrow(/dotted/);
    // The form reads MB for sizes: stored in bytes.
    expect(parseRange('size.bytes', '', '4', 1 / 1024 ** 2)).toEqual({ name: 'size.bytes', min: null, max: 4 * 1024 ** 2 });
    expect(() => parseRange('perplexity', '', '')).toThrow(/minimum, a maximum or both/);
    expect(() => parseRange('perplexity', '9', '1')).toThrow(/above the maximum/);
    expect(() => parseRange('perplexity', 'x', '')).toThrow(/number/);
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
    // The pickers offer ready models only, imported ones before run outputs.
    expect(baseModelChoices(models).map((m) => m.id)).toEqual(['late', 'first', 'out']);
  });
});

describe('trade-off points', () => {
  it("plots the API's frontier and dominated runs and places each base model from its base figures", () => {
    const pr = (n: number, base = 'm1') => ({ id: ID(n), recipe: { steps: [] }, baseModelId: base });
    const front: ParetoAnswer = {
      frontier: [
        { x: 2e6, y: 22, run: pr(2) },
        { x: 1e6, y: 30, run: pr(1) },
      ],
      dominated: [{ x: 3e6, y: 25, dominatedByCount: 1, run: pr(3, 'm2') }],
      missing: 1,
    };
    expect([...runPerBase(front)]).toEqual([['m1', ID(2)], ['m2', ID(3)]]);
    const bases = new Map([['m1', { name: 'base m1', values: new Map([['base.size.bytes', 4e6], ['base.perplexity', 20]]) }]]);
    const pts = scatterPoints(front, 'size.bytes', 'perplexity', (r) => `run ${r.id.slice(-1)}`, bases);
    expect(pts.map((p) => [p.key.slice(-6), p.kind, p.x, p.y, p.frontier, p.dominatedBy])).toEqual([
      ['000002', 'run', 2e6, 22, true, 0],
      ['000001', 'run', 1e6, 30, true, 0],
      ['000003', 'run', 3e6, 25, false, 1],
      // m2 has no base figures: not placed.
      ['ase:m1', 'base', 4e6, 20, false, 0],
    ]);
    expect(pts.find((p) => p.kind === 'base')?.label).toBe('base m1');
    expect(frontierLine(pts).map((p) => p.label)).toEqual(['run 1', 'run 2']);
    expect(scatterPoints({ frontier: [], dominated: [], missing: 3 }, 'size.bytes', 'perplexity', () => '', bases)).toEqual([]);
  });

  it("gathers the API's flat point fields under each point's run", () => {
    const recipe = { steps: [{ technique: 'prune' }] };
    const answer = paretoAnswer({
      frontier: [{ x: 1, y: 2, runId: ID(1), baseModelId: 'm1', recipe }],
      dominated: [{ x: 3, y: 4, runId: ID(2), baseModelId: 'm2', recipe: null, dominatedByCount: 2 }],
      missing: 5,
    });
    expect(answer).toEqual({
      frontier: [{ x: 1, y: 2, run: { id: ID(1), baseModelId: 'm1', recipe } }],
      dominated: [{ x: 3, y: 4, dominatedByCount: 2, run: { id: ID(2), baseModelId: 'm2', recipe: null } }],
      missing: 5,
    });
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
  });
});
