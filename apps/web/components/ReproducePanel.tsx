'use client';
/**
 * Reproduce a succeeded run (reproduce(runId) queues a re-run with the same base model,
 * recipe and seeds) and read the verdict when the re-run ends: figure by figure, the
 * original, the re-run and whether they agree within the tolerance. On a re-run's own
 * page it shows that re-run's verdict.
 */
import Link from 'next/link';
import { useCallback, useState } from 'react';
import { gql } from '../client/graphql';
import { formatMetricValue, metricMeta } from '../client/metric-format';
import { REPRODUCE, REPRODUCTIONS, reproductionView, toleranceText, verdictHeadline, type Reproduction, type ReproductionsAnswer } from '../client/reproduction';
import { RUN_EVENTS } from '../client/subscriptions';
import { usePolling } from './usePolling';
import { useLiveReload } from './useLiveReload';
import { ScrollTable } from './ScrollTable';

function Verdict({ r, rerunId }: { r: Reproduction; rerunId: string | null }) {
  const view = reproductionView(r);
  const value = (name: string, v: number | null) => (v === null ? '—' : formatMetricValue(name, v));
  return (
    <div data-testid="reproduction" data-verdict={r.verdict}>
      <p className={r.verdict === 'reproduced' ? 'verdict-better' : r.verdict === 'pending' ? undefined : 'verdict-worse'} role="status" data-testid="reproduction-verdict">
        <strong>{verdictHeadline(r)}</strong>
        {rerunId ? (
          <>
            {' '}
            <Link href={`/runs/${rerunId}`} data-testid="rerun-link">
              Open the re-run
            </Link>
          </>
        ) : null}
      </p>
      {r.notes.map((n) => (
        <p key={n} className="hint">
          {n}
        </p>
      ))}
      {!r.sameThreads && r.verdict !== 'pending' ? <p className="hint">The two runs used different thread layouts, so arithmetic is compared with a looser tolerance.</p> : null}
      {view.figures.length > 0 ? (
        // Folded unless something is outside tolerance: a run records dozens of figures.
        <details open={view.figures.some((m) => m.withinTolerance === false)}>
          <summary>
            {view.figures.length} figures compared one by one
            {view.figures.some((m) => m.withinTolerance === false) ? `, ${view.figures.filter((m) => m.withinTolerance === false).length} outside tolerance` : ''}
          </summary>
          <ScrollTable testId="reproduction-table" columns={['Figure', { label: 'Original', num: true }, { label: 'Re-run', num: true }, 'Tolerance', 'Verdict']}>
            {view.figures.map((m) => (
              <tr key={m.name} data-testid="reproduction-metric" data-metric={m.name} data-within={m.withinTolerance === null ? 'n/a' : m.withinTolerance ? 'yes' : 'no'}>
                <td className="wrap">{metricMeta(m.name).label}</td>
                <td className="num">{value(m.name, m.original)}</td>
                <td className="num">{value(m.name, m.rerun)}</td>
                <td className="small">{toleranceText(m)}</td>
                <td>{m.withinTolerance ? 'within' : <strong className="verdict-worse">outside</strong>}</td>
              </tr>
            ))}
          </ScrollTable>
        </details>
      ) : null}
      {view.seriesPoints > 0 ? (
        <p className="hint" data-testid="reproduction-series">
          Curves: {view.seriesPoints} points compared, {view.seriesOutside.length === 0 ? 'all within tolerance' : `${view.seriesOutside.length} outside (${[...new Set(view.seriesOutside.map((m) => m.name))].join(', ')})`}.
        </p>
      ) : null}
      {view.notCompared.length > 0 ? (
        <p className="hint">Not compared (they depend on the machine): {view.notCompared.map((m) => metricMeta(m.name).label).join(', ')}.</p>
      ) : null}
    </div>
  );
}

export function ReproducePanel({ runId, status }: { runId: string; status: string }) {
  const load = useCallback(() => gql<ReproductionsAnswer>(REPRODUCTIONS, { id: runId }), [runId]);
  const { data, error, reload } = usePolling(load, () => false, 3000);
  const latest = data?.run.reproductions.at(-1) ?? null;
  const pending = latest !== null && (latest.status === 'queued' || latest.status === 'running');
  // The re-run's events say when to read the verdict again.
  useLiveReload(RUN_EVENTS, { runId: latest?.id ?? runId }, reload, pending);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  async function reproduce() {
    setBusy(true);
    setActionError(null);
    try {
      await gql(REPRODUCE, { runId });
      await reload();
    } catch (e) {
      setActionError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const own = data?.run.reproduction ?? null;
  return (
    <section className="card" aria-labelledby="reproduce-head" data-testid="reproduce-panel">
      <h2 id="reproduce-head">Reproducibility</h2>
      {error ? (
        <div className="error" role="alert">
          Could not load the reproductions: {error}
        </div>
      ) : null}
      {own && data?.run.reproductionOf ? (
        <>
          <p className="muted">
            This run re-runs <Link href={`/runs/${data.run.reproductionOf.id}`}>run {data.run.reproductionOf.id.slice(0, 8)}</Link>.
          </p>
          <Verdict r={own} rerunId={null} />
        </>
      ) : null}
      {latest?.reproduction ? <Verdict r={latest.reproduction} rerunId={latest.id} /> : null}
      {data && !latest && !own ? <p className="empty">Not reproduced yet: a re-run with the same inputs checks that the figures come out the same.</p> : null}
      <p className="inline-form">
        <button type="button" className="button-secondary" onClick={() => void reproduce()} disabled={busy || pending || status !== 'succeeded'} data-testid="reproduce">
          {busy ? 'Starting…' : pending ? 'Reproducing…' : latest ? 'Reproduce again' : 'Reproduce'}
        </button>
        {status !== 'succeeded' ? <span className="hint">Only a succeeded run can be reproduced.</span> : null}
        {data && data.run.reproductions.length > 1 ? <span className="hint">{data.run.reproductions.length} re-runs so far; the latest is shown.</span> : null}
      </p>
      {actionError ? (
        <div className="error" role="alert" data-testid="reproduce-error">
          {actionError}
        </div>
      ) : null}
    </section>
  );
}
