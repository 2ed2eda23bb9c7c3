'use client';
/**
 * A project's lineage: base models -> runs -> the models they produced, as a graph and as
 * a list (the list is what keyboards and screen readers use).
 */
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useCallback, useMemo } from 'react';
import { LineageGraph } from '../../../../components/LazyCharts';
import { NavBar } from '../../../../components/NavBar';
import { PageState } from '../../../../components/PageState';
import { ScrollTable } from '../../../../components/ScrollTable';
import { StatusBadge } from '../../../../components/StatusBadge';
import { usePolling } from '../../../../components/usePolling';
import { useSession } from '../../../../components/useSession';
import { gql } from '../../../../client/graphql';
import { LINEAGE, type LineageGraph as Graph } from '../../../../client/lineage';
import { PROJECT, type ProjectAnswer, type RunStatus } from '../../../../client/queries';

export default function LineagePage() {
  const { id } = useParams<{ id: string }>()!;
  useSession();
  const load = useCallback(
    () => Promise.all([gql<{ lineage: Graph }>(LINEAGE, { projectId: id }), gql<ProjectAnswer>(PROJECT, { id })]).then(([l, p]) => ({ lineage: l.lineage, project: p.project })),
    [id],
  );
  const { data, error, reload } = usePolling(load, () => false, 2000);
  const project = data?.project;
  const byId = useMemo(() => new Map((data?.lineage.nodes ?? []).map((n) => [n.id, n])), [data]);
  const runs = useMemo(() => (data?.lineage.nodes ?? []).filter((n) => n.kind === 'RUN'), [data]);
  const edges = data?.lineage.edges ?? [];
  const baseOf = (runId: string) => edges.filter((e) => e.to === runId && e.kind === 'BASE_OF').map((e) => byId.get(e.from)?.label ?? '?');
  const producedBy = (runId: string) => edges.filter((e) => e.from === runId && e.kind === 'PRODUCED').map((e) => byId.get(e.to)?.label ?? '?');
  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name, href: `/projects/${project.id}` }, { label: 'Lineage' }] : [{ label: 'Lineage' }]} />
      <main>
        <div className="page-head">
          <div>
            <h1>Lineage</h1>
            <p className="muted">Base models, the runs that compressed them, and the models those runs produced. Click a run to open it.</p>
          </div>
        </div>
        <PageState
          loading={!data && !error}
          error={error}
          what="lineage"
          onRetry={() => void reload()}
          empty={data && data.lineage.nodes.length === 0 ? 'No models in this project yet: import one, then start a run.' : null}
          testId="lineage"
        >
          {data ? (
            <>
              {data.lineage.truncated ? (
                <p className="hint" role="status">
                  The graph is large and was cut at the API&apos;s size limit.
                </p>
              ) : null}
              <section className="card" aria-label="lineage graph">
                <LineageGraph graph={data.lineage} />
              </section>
              <section className="card" aria-labelledby="lineage-runs">
                <h2 id="lineage-runs">Runs ({runs.length})</h2>
                <PageState what="runs" empty={runs.length === 0 ? 'No runs yet.' : null} testId="lineage-runs">
                  <ScrollTable testId="lineage-table" columns={['Base model', 'Run', 'Status', 'Produced']}>
                    {runs.map((r) => (
                      <tr key={r.id} data-testid="lineage-run">
                        <td className="wrap">{baseOf(r.id).join(', ')}</td>
                        <td className="wrap">
                          <Link href={`/runs/${r.id}`} prefetch={false} data-testid="lineage-run-link">
                            {r.label}
                          </Link>
                        </td>
                        <td>
                          <StatusBadge status={r.status as RunStatus} />
                        </td>
                        <td className="wrap" data-testid="lineage-produced">
                          {producedBy(r.id).join(', ') || '—'}
                        </td>
                      </tr>
                    ))}
                  </ScrollTable>
                </PageState>
              </section>
            </>
          ) : null}
        </PageState>
      </main>
    </>
  );
}
