'use client';
/**
 * Compare 2..100 runs named in the link (`/compare?runs=a,b`): their figures aligned with
 * the difference from a reference run, the recipe settings that differ, overlaid curves,
 * and their trade-off.
 */
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { LineChart, TradeoffChart } from '../../components/LazyCharts';
import { NavBar } from '../../components/NavBar';
import { WhenVisible } from '../../components/WhenVisible';
import { PageState } from '../../components/PageState';
import { StatusBadge } from '../../components/StatusBadge';
import { loadCompareRuns, loadSeries, type CompareRun } from '../../components/compare-loading';
import { usePolling } from '../../components/usePolling';
import { useSession } from '../../components/useSession';
import { alignMetrics, parseCompareIds, recipeDiff } from '../../client/compare';
import { gql } from '../../client/graphql';
import { formatDelta, formatInUnit } from '../../client/metric-format';
import { TECHNIQUES, type RunRow, type Technique } from '../../client/queries';
import { stepSummaries, techniqueDefaults } from '../../client/runs-view';

export default function ComparePage() {
  return (
    <Suspense fallback={<p className="loading">Loading…</p>}>
      <Compare />
    </Suspense>
  );
}

function Compare() {
  const search = useSearchParams();
  // Sends visitors without a session to sign-in; the queries start at once (an expired session redirects from their answer).
  useSession();
  const [ids, idsError] = useMemo(() => {
    try {
      return [parseCompareIds(search?.get('runs') ?? null), null] as const;
    } catch (e) {
      return [[], (e as Error).message] as const;
    }
  }, [search]);
  const load = useCallback(() => loadCompareRuns([...ids]), [ids]);
  const { data: runs, error } = usePolling(load, () => false, 2000, ids.length >= 2);
  const [techniques, setTechniques] = useState<Technique[]>([]);
  useEffect(() => {
    gql<{ techniques: Technique[] }>(TECHNIQUES).then((d) => setTechniques(d.techniques), () => setTechniques([]));
  }, []);
  const defaults = useMemo(() => techniqueDefaults(techniques), [techniques]);
  const labelOf = useCallback(
    (run: RunRow) =>
      stepSummaries(run.recipe, defaults)
        .map((s) => (s.changed ? `${s.technique} (${s.changed})` : s.technique))
        .join(' → '),
    [defaults],
  );
  const [reference, setReference] = useState(0);
  const aligned = useMemo(() => (runs ? alignMetrics(runs, reference) : []), [runs, reference]);
  const diff = useMemo(() => (runs ? recipeDiff(runs.map((r) => r.recipe)) : []), [runs]);

  const project = runs?.[0]?.project;
  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name, href: `/projects/${project.id}` }, { label: 'Compare' }] : [{ label: 'Compare' }]} />
      <main>
        <div className="page-head">
          <div>
            <h1>Compare {ids.length > 0 ? `${ids.length} runs` : 'runs'}</h1>
            <p className="muted">Differences are against the reference run; the best value of each figure is marked.</p>
          </div>
        </div>
        {idsError ? (
          <div className="error" role="alert" data-testid="page-error">
            {idsError}
          </div>
        ) : (
          <PageState loading={!runs && !error} error={error} what="runs" />
        )}
        {runs ? (
          <>
            <section className="card">
              <h2>Runs</h2>
              <ol className="compare-runs" data-testid="compare-runs">
                {runs.map((r, i) => (
                  <li key={r.id} className="wrap">
                    <label className="check">
                      <input type="radio" name="reference" checked={reference === i} onChange={() => setReference(i)} aria-label={`Use run ${i + 1} as the reference`} />{' '}
                      <span className="run-index">#{i + 1}</span>
                    </label>{' '}
                    <StatusBadge status={r.status} /> <Link href={`/runs/${r.id}`} prefetch={false}>
                      {labelOf(r)}
                    </Link> <span className="muted">on {r.baseModel.name}</span>
                  </li>
                ))}
              </ol>
            </section>
            <section className="card">
              <h2>Figures</h2>
              {aligned.length === 0 ? (
                <p className="empty">None of these runs recorded figures yet.</p>
              ) : (
                <div className="table-scroll">
                  <table className="compare-table" data-testid="compare-metrics">
                    <thead>
                      <tr>
                        <th className="sticky-col">Figure</th>
                        {runs.map((r, i) => (
                          <th key={r.id} className="num">
                            #{i + 1}
                            {i === reference ? ' (ref.)' : ''}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {aligned.map((m) => (
                        <tr key={m.name} data-metric={m.name}>
                          <th scope="row" className="sticky-col wrap">
                            {m.label}
                          </th>
                          {m.values.map((v, i) => (
                            <td key={i} className={`num${m.best.includes(i) ? ' best' : ''}`} data-run={i}>
                              {v === null ? '—' : formatInUnit(v, m.unit, m.label)}
                              {i !== reference && m.deltas[i] !== null ? (
                                <span className="delta" data-testid="delta">
                                  {formatDelta(m.deltas[i]!, m.unit, m.label)}
                                </span>
                              ) : null}
                              {m.best.includes(i) ? <span className="sr-only"> (best)</span> : null}
                            </td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
            <section className="card">
              <h2>Recipe differences</h2>
              {diff.length === 0 ? (
                <p className="empty">The recipes are identical.</p>
              ) : (
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
                              {v ?? '—'}
                            </td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
            <WhenVisible>
              <CompareCurves runs={runs} labelOf={labelOf} />
            </WhenVisible>
            <section className="card">
              <WhenVisible minHeight={380}>
                <TradeoffChart runs={runs} labelOf={labelOf} />
              </WhenVisible>
            </section>
          </>
        ) : null}
      </main>
    </>
  );
}

function CompareCurves({ runs, labelOf }: { runs: CompareRun[]; labelOf(run: RunRow): string }) {
  const names = useMemo(() => [...new Set(runs.flatMap((r) => r.metrics.filter((m) => m.step !== null).map((m) => m.name)))].sort(), [runs]);
  const [name, setName] = useState('');
  const chosen = name || names[0] || '';
  const [series, setSeries] = useState<{ name: string; points: { x: number; y: number }[] }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!chosen) return;
    const having = runs.filter((r) => r.metrics.some((m) => m.name === chosen && m.step !== null));
    let alive = true;
    setSeries(null);
    loadSeries(having.map((r) => r.id), chosen).then(
      (byRun) => {
        if (!alive) return;
        setSeries(
          having.map((r) => ({
            name: `#${runs.indexOf(r) + 1} ${labelOf(r)}`,
            points: (byRun.get(r.id) ?? []).map((p, i) => ({ x: p.step ?? i, y: p.value })),
          })),
        );
        setError(null);
      },
      (e: Error) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [chosen, runs, labelOf]);
  if (names.length === 0) return null;
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
      {error ? <div className="error">{error}</div> : null}
      {series ? <LineChart name={chosen} title={chosen} series={series} /> : <p className="loading">Loading curves…</p>}
    </section>
  );
}
