'use client';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { CancelRunButton } from '../../../components/CancelRunButton';
import { NavBar } from '../../../components/NavBar';
import { NewRunForm } from '../../../components/NewRunForm';
import { ModelUpload } from '../../../components/ModelUpload';
import { ProgressBar } from '../../../components/ProgressBar';
import { StatusBadge } from '../../../components/StatusBadge';
import { TradeoffChart } from '../../../components/TradeoffChart';
import { usePolling } from '../../../components/usePolling';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import { formatBytes, formatDate, formatDuration, formatMetric, formatRatio, recipeSummary, runDuration } from '../../../client/format';
import { PROJECT_PAGE, type ProjectPageAnswer, type RunRow } from '../../../client/queries';

const ACTIVE = new Set(['queued', 'running']);

function metric(run: RunRow, name: string): number | undefined {
  return run.metrics.find((m) => m.name === name && m.runStepId === null)?.value;
}

export default function ProjectPage() {
  // Non-null: app routes always have params (Next types them nullable once pages/ exists).
  const { id } = useParams<{ id: string }>()!;
  const ready = useSession();
  const load = useCallback(() => gql<ProjectPageAnswer>(PROJECT_PAGE, { id, first: 50 }), [id]);
  // Poll while any run is still queued or running, or a model importing, so statuses stay live.
  const { data, error, reload } = usePolling(
    load,
    (d) => d.runs.edges.some((e) => ACTIVE.has(e.node.status)) || d.project.models.some((m) => m.status === 'importing'),
    2000,
    ready,
  );
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const project = data?.project;
  const runs = data?.runs.edges.map((e) => e.node) ?? [];
  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name }] : []} />
      <main>
        <div className="page-head">
          <div>
            <h1>{project?.name ?? 'Project'}</h1>
            {project?.description ? <p className="muted">{project.description}</p> : null}
          </div>
        </div>
        {error ? <div className="error">{error}</div> : null}

        <section className="card">
          <h2>Runs</h2>
          {data && runs.length === 0 ? <p className="empty">No runs yet. Start one below.</p> : null}
          {runs.length > 0 ? (
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th>Status</th>
                  <th>Base model</th>
                  <th>Recipe</th>
                  <th className="num">Size ratio</th>
                  <th className="num">Perplexity</th>
                  <th className="num">Size</th>
                  <th>Created</th>
                  <th className="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((run) => {
                  const ppl = metric(run, 'perplexity');
                  return (
                    <tr key={run.id} data-testid="run-row" data-run-id={run.id}>
                      <td>
                        <Link href={`/runs/${run.id}`} aria-label={`Run ${run.id}`}>
                          <StatusBadge status={run.status} />
                        </Link>
                        {ACTIVE.has(run.status) ? (
                          <div className="inline-form">
                            <ProgressBar fraction={run.progress} message={run.progressMessage} />
                            <CancelRunButton runId={run.id} status={run.status} onCanceled={reload} />
                          </div>
                        ) : null}
                      </td>
                      <td>{run.baseModel.name}</td>
                      <td>
                        <Link href={`/runs/${run.id}`} className="mono">
                          {recipeSummary(run.recipe)}
                        </Link>
                      </td>
                      <td className="num" data-testid="size-ratio">
                        {formatRatio(metric(run, 'ratio.size'))}
                      </td>
                      <td className="num" data-testid="perplexity">
                        {ppl === undefined ? '—' : formatMetric('perplexity', ppl)}
                      </td>
                      <td className="num">{formatBytes(metric(run, 'size.bytes'))}</td>
                      <td>{formatDate(run.createdAt)}</td>
                      <td className="num">{formatDuration(runDuration(run.startedAt, run.finishedAt, now))}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : null}
          <TradeoffChart runs={runs} />
        </section>

        {project ? (
          <div className="grid-2">
            <section className="card">
              <h2>New run</h2>
              <NewRunForm projectId={project.id} models={project.models} onCreated={reload} />
            </section>
            <section className="card">
              <h2>Models</h2>
              {project.models.length === 0 ? (
                <p className="empty">No models yet. Upload an ONNX file to start.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Status</th>
                      <th className="num">Parameters</th>
                      <th className="num">Size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {project.models.map((m) => (
                      <tr key={m.id} data-testid="model-row">
                        <td>{m.name}</td>
                        <td>
                          <span className={`badge badge-${m.status}`} data-testid="model-status" data-status={m.status}>
                            {m.status}
                          </span>
                          {m.error ? (
                            <div className="error" data-testid="model-error">
                              {m.error}
                            </div>
                          ) : null}
                        </td>
                        <td className="num">{m.status === 'ready' ? m.parameterCount.toLocaleString('en-US') : '—'}</td>
                        <td className="num">{formatBytes(m.bytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <ModelUpload projectId={project.id} teamId={project.team.id} onImported={reload} />
            </section>
          </div>
        ) : null}
      </main>
    </>
  );
}
