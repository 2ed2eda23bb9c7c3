'use client';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { CancelRunButton } from '../../../components/CancelRunButton';
import { LineChart } from '../../../components/LineChart';
import { NavBar } from '../../../components/NavBar';
import { ProgressBar } from '../../../components/ProgressBar';
import { StatusBadge } from '../../../components/StatusBadge';
import { usePolling } from '../../../components/usePolling';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import { formatBytes, formatDate, formatDuration, formatMetric, recipeSummary, runDuration } from '../../../client/format';
import { METRIC_SERIES, RUN_PAGE, type Metric, type RunDetail } from '../../../client/queries';

const ACTIVE = new Set(['queued', 'running']);
/** Series are fetched one query each; a handful keeps the page light. */
const MAX_CHARTS = 6;

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
    .slice(0, MAX_CHARTS);
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
  const ready = useSession();
  const load = useCallback(() => loadRun(id), [id]);
  const { data, error, reload } = usePolling(load, (d) => ACTIVE.has(d.run.status), 2000, ready);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const run = data?.run;
  const runMetrics = run ? run.metrics.filter((m) => m.runStepId === null).sort((a, b) => a.name.localeCompare(b.name)) : [];
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
        {error ? <div className="error">{error}</div> : null}
        {run ? (
          <>
            <div className="page-head">
              <div>
                <h1 className="mono" style={{ fontSize: '1.3rem' }}>
                  {recipeSummary(run.recipe)}
                </h1>
                <p className="muted">
                  on {run.baseModel.name} · seed {run.seed} · attempt {run.attempts}
                </p>
              </div>
              <div className="inline-form">
                <StatusBadge status={run.status} />
                <CancelRunButton runId={run.id} status={run.status} onCanceled={reload} />
              </div>
            </div>
            {ACTIVE.has(run.status) ? (
              <section className="card">
                <ProgressBar fraction={run.progress} message={run.progressMessage} />
              </section>
            ) : null}
            {run.error ? (
              <div className="error" data-testid="run-error">
                {run.error}
              </div>
            ) : null}

            <div>
              <section className="card">
                <h2>Run</h2>
                <dl className="facts">
                  <dt>Created</dt>
                  <dd>{formatDate(run.createdAt)}</dd>
                  <dt>Started</dt>
                  <dd>{formatDate(run.startedAt)}</dd>
                  <dt>Finished</dt>
                  <dd>{formatDate(run.finishedAt)}</dd>
                  <dt>Duration</dt>
                  <dd>{formatDuration(runDuration(run.startedAt, run.finishedAt, now))}</dd>
                  <dt>Output model</dt>
                  <dd>{run.outputModel ? `${run.outputModel.name} (${formatBytes(run.outputModel.bytes)})` : '—'}</dd>
                </dl>
              </section>
            </div>
            <section className="card">
                <h2>Steps</h2>
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
            </section>

            {data.series.length > 0 ? (
              <section className="card">
                <h2>Series</h2>
                {data.series.map((s) => (
                  <LineChart
                    key={s.name}
                    name={s.name}
                    points={s.points.map((p, i) => ({ x: p.step ?? i, y: p.value }))}
                  />
                ))}
              </section>
            ) : null}
            <section className="card">
              <h2>Metrics</h2>
              {runMetrics.length === 0 ? (
                <p className="empty">{ACTIVE.has(run.status) ? 'Metrics appear when the run finishes.' : 'No metrics recorded.'}</p>
              ) : (
                <MetricTable metrics={runMetrics} testId="metrics-table" />
              )}
              {stepMetrics.length > 0 ? (
                <>
                  <h2 style={{ marginTop: '1.5rem' }}>Step metrics</h2>
                  <MetricTable metrics={stepMetrics} testId="step-metrics-table" />
                </>
              ) : null}
            </section>
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
          <th>Metric</th>
          <th className="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={`${m.runStepId ?? ''}:${m.name}`} data-metric={m.name}>
            <td className="mono" title={m.label ? `${m.label}${m.unit ? ` (${m.unit})` : ''}` : undefined}>
              {m.name}
            </td>
            <td className="num" title={String(m.value)}>
              {formatMetric(m.name, m.value)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
