'use client';
/**
 * Compare 2..100 runs named in the link (`/compare?runs=a,b[&baseline=id]`) through the
 * API's `compareRuns`: figures aligned with their difference from each run's base model or
 * from a chosen baseline run, the recipe settings that differ, overlaid curves, and their
 * trade-off (the API's frontier of these runs).
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { memo, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { LineChart, TradeoffChart } from '../../components/LazyCharts';
import { NavBar } from '../../components/NavBar';
import { WhenVisible } from '../../components/WhenVisible';
import { PageState } from '../../components/PageState';
import { StatusBadge } from '../../components/StatusBadge';
import { usePolling } from '../../components/usePolling';
import { useSession } from '../../components/useSession';
import {
  bestIndices,
  COMPARE_CURVE_NAMES,
  COMPARE_RUNS,
  COMPARE_SERIES,
  curveNamesByRun,
  parseCompareIds,
  recipeValueText,
  splitMetrics,
  type ComparedMetric,
  type ComparedSeries,
  type CompareRun,
  type Comparison,
} from '../../client/compare';
import { gql } from '../../client/graphql';
import { formatDelta, formatInUnit } from '../../client/metric-format';
import { TECHNIQUES, type Technique } from '../../client/queries';
import { stepSummaries, techniqueDefaults } from '../../client/runs-view';

export default function ComparePage() {
  return (
    <Suspense fallback={<PageState what="comparison" loading />}>
      <Compare />
    </Suspense>
  );
}

function Compare() {
  const search = useSearchParams();
  // Sends visitors without a session to sign-in; the queries start at once (an expired session redirects from their answer).
  useSession();
  const [ids, idsError] = useMemo((): [string[], string | null] => {
    try {
      return [parseCompareIds(search?.get('runs') ?? null), null];
    } catch (e) {
      return [[], (e as Error).message];
    }
  }, [search]);
  const wanted = search?.get('baseline') ?? '';
  const linked = ids.includes(wanted) ? wanted : null;
  // Chosen at once (the radio stays checked), then written to the link.
  const [baseline, setChosen] = useState<string | null>(linked);
  useEffect(() => setChosen(linked), [linked]);
  const load = useCallback(() => gql<{ compareRuns: Comparison }>(COMPARE_RUNS, { ids: [...ids], baseline }).then((d) => d.compareRuns), [ids, baseline]);
  const { data, error, reload } = usePolling(load, () => false, 2000, ids.length >= 2);
  // Another baseline asks again (the first answer is asked by usePolling itself).
  const firstAsk = useRef(true);
  useEffect(() => {
    if (firstAsk.current) {
      firstAsk.current = false;
      return;
    }
    void reload();
  }, [baseline, reload]);
  // While another baseline is asked for, the previous answer stays (marked busy) so the page does not jump.
  const comparison = data;
  const stale = data !== null && (data.baseline?.id ?? null) !== baseline;
  const runs = comparison?.runs ?? null;
  const setBaseline = useCallback((id: string | null) => {
    setChosen(id);
    const q = new URLSearchParams(window.location.search);
    if (id) q.set('baseline', id);
    else q.delete('baseline');
    // The history API, not router.replace: Next's router follows it (useSearchParams updates) without asking the server to render the page again.
    window.history.replaceState(null, '', `${window.location.pathname}?${q.toString()}`);
  }, []);
  const [techniques, setTechniques] = useState<Technique[]>([]);
  useEffect(() => {
    gql<{ techniques: Technique[] }>(TECHNIQUES).then((d) => setTechniques(d.techniques), () => setTechniques([]));
  }, []);
  const defaults = useMemo(() => techniqueDefaults(techniques), [techniques]);
  const labelOf = useCallback(
    (run: { recipe: unknown }) =>
      stepSummaries(run.recipe, defaults)
        .map((s) => (s.changed ? `${s.technique} (${s.changed})` : s.technique))
        .join(' → '),
    [defaults],
  );
  const { main, other } = useMemo(() => splitMetrics(comparison?.metrics ?? []), [comparison]);
  const baselineIndex = runs && baseline ? runs.findIndex((r) => r.id === baseline) : -1;
  const [otherOpened, setOtherOpened] = useState(false);

  const project = runs?.[0]?.project;
  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name, href: `/projects/${project.id}` }, { label: 'Compare' }] : [{ label: 'Compare' }]} />
      <main>
        <div className="page-head">
          <div>
            <h1>Compare {ids.length > 0 ? `${ids.length} runs` : 'runs'}</h1>
            <p className="muted">
              Differences are against {baseline ? 'the baseline run' : "each run's base model"}; the best value of each figure is marked.
            </p>
          </div>
        </div>
        {idsError ? (
          <PageState what="runs" error={idsError} bare />
        ) : (
          <PageState what="comparison" loading={!runs && !error} error={error} onRetry={() => void reload()} />
        )}
        {runs && comparison ? (
          <>
            <section className="card">
              <h2>Runs</h2>
              <fieldset className="plain">
                <legend className="sr-only">Compare against</legend>
                <label className="check">
                  <input type="radio" name="baseline" checked={baseline === null} onChange={() => setBaseline(null)} data-testid="baseline-base" /> Each run&apos;s base model
                </label>
                <BaselineChoices runs={runs} baseline={baseline} onChoose={setBaseline} labelOf={labelOf} />
              </fieldset>
            </section>
            <section className="card" aria-busy={stale}>
              <h2>Figures</h2>
              <PageState what="figures" empty={main.length === 0 ? 'None of these runs recorded figures yet.' : null} testId="compare-figures">
                <MetricTable runs={runs} metrics={main} baselineIndex={baselineIndex} testId="compare-metrics" />
              </PageState>
              {other.length > 0 ? (
                // Folded, so its table (a cell per run and figure) is built when first opened, not before the page is usable.
                <details className="chart-data" onToggle={(e) => e.currentTarget.open && setOtherOpened(true)}>
                  <summary>Other figures ({other.length}): base models, ratios, settings and steps&apos; own</summary>
                  {otherOpened ? <MetricTable runs={runs} metrics={other} baselineIndex={baselineIndex} testId="compare-other-metrics" /> : null}
                </details>
              ) : null}
            </section>
            <section className="card">
              <h2>Recipe differences</h2>
              <PageState what="recipes" empty={comparison.recipeDiff.length === 0 ? 'The recipes are identical.' : null} testId="recipe-diff">
                <RecipeDiffTable runs={runs} diff={comparison.recipeDiff} />
              </PageState>
            </section>
            <WhenVisible>
              <CompareCurves runs={runs} labelOf={labelOf} />
            </WhenVisible>
            {project ? (
              <section className="card">
                <WhenVisible minHeight={380}>
                  <TradeoffChart scope={{ projectId: project.id, runIds: runs.map((r) => r.id) }} labelOf={labelOf} />
                </WhenVisible>
              </section>
            ) : null}
          </>
        ) : null}
      </main>
    </>
  );
}

/*
 * The parts below are memoized: with 100 runs each holds hundreds of cells, and the page
 * re-renders for things that do not touch them (the technique list arriving, a new answer
 * pending, a fold opening).
 */

const BaselineChoices = memo(function BaselineChoices({
  runs,
  baseline,
  onChoose,
  labelOf,
}: {
  runs: CompareRun[];
  baseline: string | null;
  onChoose(id: string): void;
  labelOf(run: { recipe: unknown }): string;
}) {
  return (
    <ol className="compare-runs" data-testid="compare-runs">
      {runs.map((r, i) => (
        <li key={r.id} className="wrap">
          <label className="check">
            <input
              type="radio"
              name="baseline"
              checked={baseline === r.id}
              onChange={() => onChoose(r.id)}
              aria-label={`Use run ${i + 1} as the baseline`}
              data-testid="baseline-run"
            />{' '}
            <span className="run-index">#{i + 1}</span>
          </label>{' '}
          <StatusBadge status={r.status} /> <Link href={`/runs/${r.id}`} prefetch={false}>
            {labelOf(r)}
          </Link> <span className="muted">on {r.baseModel.name}</span>
        </li>
      ))}
    </ol>
  );
});

const RecipeDiffTable = memo(function RecipeDiffTable({ runs, diff }: { runs: CompareRun[]; diff: Comparison['recipeDiff'] }) {
  return (
    <div className="table-scroll">
      <table className="compare-table" data-testid="recipe-diff">
        <thead>
          <tr>
            <th className="sticky-col">Setting</th>
            {runs.map((r, i) => (
              <th key={r.id}>#{i + 1}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.map((d) => (
            <tr key={d.path} data-path={d.path}>
              <th scope="row" className="sticky-col mono wrap">
                {d.path}
              </th>
              {d.values.map((v, i) => (
                <td key={i} className="mono wrap">
                  {recipeValueText(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
});

const MetricTable = memo(function MetricTable({ runs, metrics, baselineIndex, testId }: { runs: CompareRun[]; metrics: ComparedMetric[]; baselineIndex: number; testId: string }) {
  return (
    <div className="table-scroll">
      <table className="compare-table" data-testid={testId}>
        <thead>
          <tr>
            <th className="sticky-col">Figure</th>
            {runs.map((r, i) => (
              <th key={r.id} className="num">
                #{i + 1}
                {i === baselineIndex ? ' (baseline)' : ''}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {metrics.map((m) => {
            const best = bestIndices(m);
            const unit = m.unit ?? '';
            const label = m.label ?? m.name;
            return (
              <tr key={m.name} data-metric={m.name}>
                <th scope="row" className="sticky-col wrap">
                  {label}
                </th>
                {m.cells.map((c, i) => (
                  <td key={c.runId} className={`num${best.includes(i) ? ' best' : ''}`} data-run={i}>
                    {c.value === null ? '—' : formatInUnit(c.value, unit, label)}
                    {i !== baselineIndex && c.delta !== null && c.reference !== null ? (
                      <span
                        className={`delta${c.better === true ? ' better' : c.better === false ? ' worse' : ''}`}
                        data-testid="delta"
                        data-delta={c.delta}
                        title={`against ${formatInUnit(c.reference, unit, label)}`}
                      >
                        {formatDelta(c.delta, unit, label)}
                      </span>
                    ) : null}
                    {best.includes(i) ? <span className="sr-only"> (best)</span> : null}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
});

function CompareCurves({ runs, labelOf }: { runs: CompareRun[]; labelOf(run: { recipe: unknown }): string }) {
  // Which runs have which curves: asked once the section is in view (not with the page's first query).
  const idList = useMemo(() => runs.map((r) => r.id).join(','), [runs]);
  const [curvesOf, setCurvesOf] = useState<Map<string, Set<string>> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let alive = true;
    setError(null);
    gql<{ compareRuns: { runs: { id: string; metrics: { name: string; step: number | null }[] }[] } }>(COMPARE_CURVE_NAMES, { ids: idList.split(',') }).then(
      (d) => alive && setCurvesOf(curveNamesByRun(d.compareRuns.runs)),
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [idList, attempt]);
  const names = useMemo(() => [...new Set([...(curvesOf?.values() ?? [])].flatMap((s) => [...s]))].sort(), [curvesOf]);
  const [name, setName] = useState('');
  const chosen = name || names[0] || '';
  const [series, setSeries] = useState<{ name: string; points: { x: number; y: number }[] }[] | null>(null);
  useEffect(() => {
    if (!chosen || !curvesOf) return;
    const having = runs.filter((r) => curvesOf.get(r.id)?.has(chosen));
    let alive = true;
    setSeries(null);
    setError(null);
    // compareRuns takes two runs at least: a curve only one run has is asked with another run beside it.
    const ids = having.length >= 2 ? having.map((r) => r.id) : [...new Set([...having, ...runs].map((r) => r.id))].slice(0, 2);
    gql<{ compareRuns: { series: ComparedSeries[] } }>(COMPARE_SERIES, { ids, name: chosen }).then(
      (d) => {
        if (!alive) return;
        const byRun = new Map(d.compareRuns.series.map((s) => [s.runId, s.points]));
        setSeries(
          having.map((r) => ({
            name: `#${runs.indexOf(r) + 1} ${labelOf(r)}`,
            points: (byRun.get(r.id) ?? []).map((p, i) => ({ x: p.step ?? i, y: p.value })),
          })),
        );
      },
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [chosen, runs, curvesOf, labelOf, attempt]);
  // The section appears once there are curves to show (or the question failed).
  if (names.length === 0 && !error) return null;
  return (
    <section className="card">
      <div className="section-head">
        <h2>Curves</h2>
        <label>
          Series{' '}
          <select value={chosen} onChange={(e) => setName(e.target.value)} data-testid="compare-series">
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <PageState what="curves" loading={!series && !error} error={error} onRetry={() => setAttempt((n) => n + 1)} testId="compare-curves">
        {series ? <LineChart name={chosen} title={chosen} series={series} /> : null}
      </PageState>
    </section>
  );
}
