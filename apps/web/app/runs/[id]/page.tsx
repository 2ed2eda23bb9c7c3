'use client';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { CancelRunButton } from '../../../components/CancelRunButton';
import { LineChart, SensitivityHeatmap } from '../../../components/LazyCharts';
import { NavBar } from '../../../components/NavBar';
import { ProgressBar } from '../../../components/ProgressBar';
import { ReproducePanel } from '../../../components/ReproducePanel';
import { RunSummary } from '../../../components/RunSummary';
import { SamplesSideBySide } from '../../../components/SamplesSideBySide';
import { StatusBadge } from '../../../components/StatusBadge';
import { PageState } from '../../../components/PageState';
import { usePolling } from '../../../components/usePolling';
import { useLiveReload } from '../../../components/useLiveReload';
import { RUN_EVENTS } from '../../../client/subscriptions';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import { formatBytes, formatDate, formatDuration, recipeSummary, runDuration } from '../../../client/format';
import { formatMetricValue, metricMeta } from '../../../client/metric-format';
import { METRIC_SERIES, RUN_PAGE, type Metric, type RunDetail } from '../../../client/queries';
import { evaluationNotes, evaluationSamples } from '../../../client/run-evaluation';
import { summarizedNames, summaryRows } from '../../../client/run-summary';
import { groupSeries } from '../../../client/series-groups';
import { stepSummaries } from '../../../client/runs-view';

const ACTIVE = new Set(['queued', 'running']);
/** Every parameter of each step is listed on the run's own page. */
const NO_DEFAULTS = new Map<string, Record<string, unknown>>();
/** Series are fetched one query each; a handful keeps the page light. */
const MAX_SERIES = 8;

interface RunPageData {
  run: RunDetail;
  series: { name: string; points: Metric[] }[];
}

async function loadRun(id: string): Promise<RunPageData> {
  const { run } = await gql<{ run: RunDetail }>(RUN_PAGE, { id });
  // `metrics` answers the latest value of every name, step included: a name whose latest
  // value has a step is a series (e.g. `steps.0.train.loss`), so it lists the series names.
  const candidates = run.metrics
    .filter((m) => m.step !== null)
    .sort((a, b) => a.name.localeCompare(b.name))
    .slice(0, MAX_SERIES);
  const series = await Promise.all(
    candidates.map(async (m) => {
      const r = await gql<{ run: { metricSeries: Metric[] } }>(METRIC_SERIES, { id, name: m.name });
      return { name: m.name, points: r.run.metricSeries };
    }),
  );
  return { run, series: series.filter((s) => s.points.length > 1) };
}

export default function RunPage() {
  // Non-null: app routes always have params (Next types them nullable once pages/ exists).
  const { id } = useParams<{ id: string }>()!;
  // Sends visitors without a session to sign-in; the queries start at once (an expired session redirects from their answer).
  useSession();
  const load = useCallback(() => loadRun(id), [id]);
  // Loaded once; the run's events (status, steps, progress, metric points) trigger reloads while it is active.
  const { data, error, reload } = usePolling(load, () => false, 2000);
  const active = data ? ACTIVE.has(data.run.status) : true;
  const live = useLiveReload(RUN_EVENTS, { runId: id }, reload, active);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const run = data?.run;
  const summary = useMemo(() => (run ? summaryRows(run.metrics) : []), [run]);
  const samples = useMemo(() => (run ? evaluationSamples(run.evaluation) : []), [run]);
  const notes = useMemo(() => (run ? evaluationNotes(run.evaluation) : []), [run]);
  const charts = useMemo(() => groupSeries((data?.series ?? []).map((s) => s.name)), [data]);
  const shown = summarizedNames();
  const otherMetrics = run ? run.metrics.filter((m) => m.runStepId === null && !shown.has(m.name)).sort((a, b) => a.name.localeCompare(b.name)) : [];
  const stepMetrics = run ? run.metrics.filter((m) => m.runStepId !== null).sort((a, b) => a.name.localeCompare(b.name)) : [];
  return (
    <>
      <NavBar
        crumbs={
          run
            ? [
                { label: run.project.team.name, href: '/' },
                { label: run.project.name, href: `/projects/${run.project.id}` },
                { label: `Run ${run.id.slice(0, 8)}` },
              ]
            : []
        }
      />
      <main>
        <PageState loading={!data && !error} error={error} what="run" />
        {run ? (
          <>
            <div className="page-head">
              <div className="wrap">
                <h1 className="mono" style={{ fontSize: '1.3rem' }}>
                  {recipeSummary(run.recipe)}
                </h1>
                <p className="mono small" data-testid="run-params">
                  {stepSummaries(run.recipe, NO_DEFAULTS)
                    .map((s) => `${s.technique}: ${s.changed || 'no parameters'}`)
                    .join(' · ')}
                </p>
                <p className="muted">
                  on {run.baseModel.name} · seed {run.seed} · attempt {run.attempts} · {formatDuration(runDuration(run.startedAt, run.finishedAt, now))}
                </p>
              </div>
              {/* data-transport stays after the run ends: whether its updates came by subscription or fell back to polling. */}
              <div className="inline-form" data-testid="run-live" data-transport={live.transport}>
                <StatusBadge status={run.status} />
                {ACTIVE.has(run.status) ? (
                  <span className="hint" data-testid="live-state" data-state={live.state} title={live.error ?? undefined}>
                    {live.state === 'live' ? 'live' : live.state === 'connecting' ? 'connecting…' : 'live updates lost'}
                  </span>
                ) : null}
                <CancelRunButton runId={run.id} status={run.status} onCanceled={reload} />
              </div>
            </div>
            {run.error ? (
              <div className="error" role="alert" data-testid="run-error">
                <strong>The run {run.status === 'canceled' ? 'was canceled' : 'failed'}:</strong> {run.error}
              </div>
            ) : null}
            {ACTIVE.has(run.status) ? (
              <section className="card">
                <ProgressBar fraction={run.progress} message={run.progressMessage} />
              </section>
            ) : null}

            <section className="card" aria-labelledby="summary-head">
              <h2 id="summary-head">Base model vs. output</h2>
              <PageState what="figures" empty={summary.length === 0 ? (ACTIVE.has(run.status) ? 'Figures appear when the run finishes.' : 'This run recorded no figures.') : null} testId="run-summary">
                <RunSummary rows={summary} />
              </PageState>
              {notes.map((n) => (
                <p key={n} className="hint">
                  {n}
                </p>
              ))}
              <p data-testid="output-model">
                <span className="muted">Output model: </span>
                {run.outputModel ? (
                  <>
                    <Link href={`/projects/${run.project.id}#model-${run.outputModel.id}`}>{run.outputModel.name}</Link>{' '}
                    <span className="muted">({formatBytes(run.outputModel.bytes)})</span>{' '}
                    <a className="button-secondary" href={`/models/${run.outputModel.id}/download`} download data-testid="download-model">
                      Download
                    </a>
                  </>
                ) : (
                  '—'
                )}
              </p>
            </section>

            {charts.length > 0 ? (
              <section className="card">
                <h2>Curves</h2>
                <div className="grid-2">
                  {charts.map((g) => (
                    <LineChart
                      key={g.title}
                      name={g.names[0]!}
                      title={g.title}
                      series={g.names.map((n) => ({
                        name: n,
                        points: (data!.series.find((s) => s.name === n)?.points ?? []).map((p, i) => ({ x: p.step ?? i, y: p.value })),
                      }))}
                    />
                  ))}
                </div>
              </section>
            ) : null}

            {run.sensitivity && run.sensitivity.length > 0 ? (
              <section className="card" aria-labelledby="sensitivity-head">
                <h2 id="sensitivity-head">Per-layer sensitivity</h2>
                <p className="hint">Each cell changes one layer of the output model alone and measures how far its predictions move on validation text: hot rows are the layers to keep at higher precision.</p>
                <SensitivityHeatmap rows={run.sensitivity} />
              </section>
            ) : null}

            {samples.length > 0 ? (
              <section className="card">
                <h2>Generated text</h2>
                <SamplesSideBySide samples={samples} />
              </section>
            ) : null}

            {ACTIVE.has(run.status) ? null : <ReproducePanel runId={run.id} status={run.status} />}

            <details className="card" data-testid="run-details">
              <summary>
                <h2>Details: steps, every metric, timing</h2>
              </summary>
              <dl className="facts">
                <dt>Created</dt>
                <dd>{formatDate(run.createdAt)}</dd>
                <dt>Started</dt>
                <dd>{formatDate(run.startedAt)}</dd>
                <dt>Finished</dt>
                <dd>{formatDate(run.finishedAt)}</dd>
              </dl>
              <h3>Steps</h3>
              <div className="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Technique</th>
                      <th>Status</th>
                      <th>Parameters</th>
                      <th className="num">Duration</th>
                    </tr>
                  </thead>
                  <tbody>
                    {run.steps.map((s) => (
                      <tr key={s.id}>
                        <td>{s.index + 1}</td>
                        <td className="mono">{s.techniqueId}</td>
                        <td>
                          <StatusBadge status={s.status} />
                        </td>
                        <td>
                          <code className="params">{JSON.stringify(s.params)}</code>
                        </td>
                        <td className="num">{formatDuration(runDuration(s.startedAt, s.finishedAt, now))}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {otherMetrics.length > 0 ? (
                <>
                  <h3>Other figures</h3>
                  <MetricTable metrics={otherMetrics} testId="metrics-table" />
                </>
              ) : null}
              {stepMetrics.length > 0 ? (
                <>
                  <h3>Step reports</h3>
                  <MetricTable metrics={stepMetrics} testId="step-metrics-table" />
                </>
              ) : null}
            </details>
            <p>
              <Link href={`/projects/${run.project.id}`}>← All runs of {run.project.name}</Link>
            </p>
          </>
        ) : null}
      </main>
    </>
  );
}

function MetricTable({ metrics, testId }: { metrics: Metric[]; testId: string }) {
  return (
    <table data-testid={testId}>
      <thead>
        <tr>
          <th>Figure</th>
          <th className="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => {
          const meta = metricMeta(m.name);
          return (
            <tr key={`${m.runStepId ?? ''}:${m.name}`} data-metric={m.name}>
              <td className="wrap">
                {meta.label}
                {meta.label !== m.name ? <div className="mono muted small">{m.name}</div> : null}
              </td>
              <td className="num" title={String(m.value)}>
                {formatMetricValue(m.name, m.value)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
