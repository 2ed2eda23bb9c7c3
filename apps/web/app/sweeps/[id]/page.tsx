'use client';
/**
 * One sweep: its progress and runs, and the Pareto frontier of its runs as it fills in,
 * reloaded on the project's run events while the sweep is active; it can be canceled.
 */
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useState } from 'react';
import { SweepFrontChart } from '../../../components/LazyCharts';
import { NavBar } from '../../../components/NavBar';
import { PageState } from '../../../components/PageState';
import { ProgressBar } from '../../../components/ProgressBar';
import { StatusBadge } from '../../../components/StatusBadge';
import { useLiveReload } from '../../../components/useLiveReload';
import { usePolling } from '../../../components/usePolling';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import type { RunStatus } from '../../../client/queries';
import { PROJECT_RUN_EVENTS } from '../../../client/subscriptions';
import { CANCEL_SWEEP, SWEEP, SWEEP_FRONT, sweepProgress, type SweepDetail, type SweepFront } from '../../../client/sweeps';

const inFlight = (r: { status: string }) => r.status === 'queued' || r.status === 'running';

async function loadSweep(id: string): Promise<{ sweep: SweepDetail; front: SweepFront | null; frontError: string | null }> {
  const { sweep } = await gql<{ sweep: SweepDetail }>(SWEEP, { id });
  const x = sweep.objective?.x ?? 'size.bytes';
  const y = sweep.objective?.y ?? 'perplexity';
  try {
    const { pareto } = await gql<{ pareto: SweepFront }>(SWEEP_FRONT, { sweepId: id, x, y });
    return { sweep, front: pareto, frontError: null };
  } catch (e) {
    return { sweep, front: null, frontError: (e as Error).message };
  }
}

export default function SweepPage() {
  const { id } = useParams<{ id: string }>()!;
  useSession();
  const load = useCallback(() => loadSweep(id), [id]);
  // Run events keep the page live while runs are in flight; between them (the worker's next
  // advance starting a run, or closing the sweep) no run event comes, so the page polls.
  const { data, error, reload } = usePolling(load, (d) => (d.sweep.status === 'active' || d.sweep.status === 'canceling') && !d.sweep.runs.some(inFlight), 2000);
  const sweep = data?.sweep;
  const active = sweep ? sweep.status === 'active' || sweep.status === 'canceling' || sweep.runs.some(inFlight) : false;
  useLiveReload(PROJECT_RUN_EVENTS, { projectId: sweep?.project.id ?? '' }, reload, active && !!sweep);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const progress = sweep ? sweepProgress(sweep) : null;
  const front = data?.front;
  const plotted = front ? front.frontier.length + front.dominated.length : 0;
  return (
    <>
      <NavBar
        crumbs={
          sweep
            ? [{ label: sweep.project.team.name, href: '/' }, { label: sweep.project.name, href: `/projects/${sweep.project.id}` }, { label: 'Sweeps', href: `/projects/${sweep.project.id}/sweeps` }, { label: sweep.name }]
            : [{ label: 'Sweep' }]
        }
      />
      <main>
        <PageState loading={!data && !error} error={error} what="sweep" onRetry={() => void reload()} />
        {sweep && progress ? (
          <>
            <div className="page-head">
              <div className="wrap">
                <h1>{sweep.name}</h1>
                <p className="muted">
                  {sweep.mode} sweep on {sweep.baseModel.name} · up to {sweep.maxRuns} runs, {sweep.parallelism} at a time · <span data-testid="sweep-status">{sweep.status}</span>
                </p>
                {sweep.note ? <p className="hint wrap">{sweep.note}</p> : null}
              </div>
              {sweep.status === 'active' ? (
                <button
                  type="button"
                  className="button-danger"
                  onClick={() => gql(CANCEL_SWEEP, { id }).then(() => reload(), (e: Error) => setCancelError(e.message))}
                  data-testid="cancel-sweep"
                >
                  Cancel sweep
                </button>
              ) : null}
            </div>
            {cancelError ? (
              <div className="error" role="alert">
                Could not cancel: {cancelError}
              </div>
            ) : null}
            <section className="card" aria-labelledby="sweep-progress-head">
              <h2 id="sweep-progress-head">Progress</h2>
              <div data-testid="sweep-progress" data-finished={progress.finished}>
                <ProgressBar fraction={progress.fraction} message={`${progress.finished} of ${sweep.maxRuns} finished, ${progress.running} running, ${progress.queued} queued`} />
              </div>
            </section>
            <section className="card" aria-labelledby="sweep-front-head">
              <h2 id="sweep-front-head">Frontier</h2>
              {data.frontError ? <p className="hint">No frontier yet: {data.frontError}</p> : null}
              <PageState what="frontier" empty={front && plotted === 0 ? 'No finished run has both figures yet.' : null} testId="sweep-front" />
              {front && plotted > 0 ? (
                <>
                  <SweepFrontChart front={front} />
                  <p className="hint" data-testid="sweep-front-count">
                    {front.frontier.length} on the frontier, {front.dominated.length} dominated{front.missing ? `, ${front.missing} without both figures` : ''}
                  </p>
                </>
              ) : null}
            </section>
            <section className="card" aria-labelledby="sweep-runs-head">
              <h2 id="sweep-runs-head">Runs ({sweep.runs.length})</h2>
              <PageState what="runs" empty={sweep.runs.length === 0 ? 'No runs started yet.' : null} testId="sweep-runs">
                <ul className="project-list">
                  {sweep.runs.map((r) => (
                    <li key={r.id} data-testid="sweep-run">
                      <Link href={`/runs/${r.id}`} prefetch={false} className="mono">
                        {r.id.slice(0, 8)}
                      </Link>{' '}
                      <StatusBadge status={r.status as RunStatus} />
                      {front?.frontier.some((p) => p.run.id === r.id) ? <span className="hint"> · on the frontier</span> : null}
                    </li>
                  ))}
                </ul>
              </PageState>
            </section>
          </>
        ) : null}
      </main>
    </>
  );
}
