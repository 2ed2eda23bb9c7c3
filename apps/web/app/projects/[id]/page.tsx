'use client';
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ColumnPicker } from '../../../components/ColumnPicker';
import { ModelsList } from '../../../components/ModelsList';
import { TradeoffChart } from '../../../components/LazyCharts';
import { WhenVisible } from '../../../components/WhenVisible';
import { NavBar } from '../../../components/NavBar';
import { NewRunForm } from '../../../components/NewRunForm';
import { ModelUpload } from '../../../components/ModelUpload';
import { PageState } from '../../../components/PageState';
import { RunsTable } from '../../../components/RunsTable';
import { usePolling } from '../../../components/usePolling';
import { useRunPages } from '../../../components/useRunPages';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import { MAX_COMPARE } from '../../../client/compare';
import { PROJECT, TECHNIQUES, type ProjectAnswer, type RunRow, type RunStatus, type Technique } from '../../../client/queries';
import {
  DEFAULT_COLUMNS,
  filterByFamily,
  metricColumnChoices,
  sortRuns,
  stepSummaries,
  techniqueDefaults,
  type SortKey,
  type SortState,
} from '../../../client/runs-view';

const STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];

export default function ProjectPage() {
  // Non-null: app routes always have params (Next types them nullable once pages/ exists).
  const { id } = useParams<{ id: string }>()!;
  const router = useRouter();
  // Sends visitors without a session to sign-in; the queries start at once (an expired session redirects from their answer).
  useSession();
  const load = useCallback(() => gql<ProjectAnswer>(PROJECT, { id }), [id]);
  // Poll while a model is importing, so its status turns live.
  const { data, error, reload } = usePolling(load, (d) => d.project.models.some((m) => m.status === 'importing'), 2000);
  const [techniques, setTechniques] = useState<Technique[]>([]);
  useEffect(() => {
    gql<{ techniques: Technique[] }>(TECHNIQUES).then(
      (d) => setTechniques(d.techniques),
      () => setTechniques([]),
    );
  }, []);

  const [status, setStatus] = useState<RunStatus | ''>('');
  const [family, setFamily] = useState('');
  const [sort, setSort] = useState<SortState>({ key: 'createdAt', descending: true });
  const [columns, setColumns] = useState<string[]>(DEFAULT_COLUMNS);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const pages = useRunPages(id, status, true);

  const defaults = useMemo(() => techniqueDefaults(techniques), [techniques]);
  const familyOf = useMemo(() => new Map(techniques.map((t) => [t.id, t.family])), [techniques]);
  const families = useMemo(() => [...new Set(techniques.map((t) => t.family))].sort(), [techniques]);
  const shown = useMemo(() => sortRuns(filterByFamily(pages.runs, family, familyOf), sort), [pages.runs, family, familyOf, sort]);
  const stepsOf = useCallback((run: RunRow) => stepSummaries(run.recipe, defaults), [defaults]);
  const labelOf = useCallback(
    (run: RunRow) =>
      stepSummaries(run.recipe, defaults)
        .map((s) => (s.changed ? `${s.technique} (${s.changed})` : s.technique))
        .join(' → '),
    [defaults],
  );
  const choices = useMemo(() => metricColumnChoices(), []);
  const onSort = useCallback((key: SortKey) => setSort((s) => (s.key === key ? { key, descending: !s.descending } : { key, descending: key === 'createdAt' })), []);
  const onToggle = useCallback(
    (runId: string) =>
      setSelected((prev) => {
        const next = new Set(prev);
        if (next.has(runId)) next.delete(runId);
        else next.add(runId);
        return next;
      }),
    [],
  );

  const { loadMore: loadNext, refresh: refetch } = pages;
  const loadMore = useCallback(() => void loadNext(), [loadNext]);
  const refresh = useCallback(() => void refetch(), [refetch]);

  const project = data?.project;
  const baseIds = useMemo(() => pages.runs.map((r) => r.baseModel.id), [pages.runs]);
  return (
    <>
      <NavBar crumbs={project ? [{ label: project.team.name, href: '/' }, { label: project.name }] : []} />
      <main>
        <div className="page-head">
          <div className="wrap">
            <h1>{project?.name ?? 'Project'}</h1>
            {project?.description ? <p className="muted">{project.description}</p> : null}
          </div>
          {project ? (
            <nav className="toolbar" aria-label="project views">
              <Link href={`/projects/${project.id}/lineage`} prefetch={false} data-testid="open-lineage">
                Lineage
              </Link>
              <Link href={`/projects/${project.id}/sweeps`} prefetch={false} data-testid="open-sweeps">
                Sweeps
              </Link>
              <Link href={`/leaderboard?team=${project.team.id}`} prefetch={false} data-testid="open-leaderboard">
                Leaderboard
              </Link>
            </nav>
          ) : null}
        </div>
        <PageState loading={!data && !error} error={error} what="project" />

        <section className="card" aria-labelledby="runs-head">
          <div className="section-head">
            <h2 id="runs-head">Runs</h2>
            <div className="toolbar">
              <label>
                Status{' '}
                <select value={status} onChange={(e) => setStatus(e.target.value as RunStatus | '')} data-testid="filter-status">
                  <option value="">any</option>
                  {STATUSES.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                Technique{' '}
                <select value={family} onChange={(e) => setFamily(e.target.value)} data-testid="filter-family">
                  <option value="">any</option>
                  {families.map((f) => (
                    <option key={f} value={f}>
                      {f}
                    </option>
                  ))}
                </select>
              </label>
              <ColumnPicker choices={choices} columns={columns} onChange={setColumns} />
              <button
                type="button"
                className="button"
                data-testid="compare-selected"
                disabled={selected.size < 2 || selected.size > MAX_COMPARE}
                onClick={() => router.push(`/compare?runs=${[...selected].join(',')}`)}
                title={selected.size > MAX_COMPARE ? `at most ${MAX_COMPARE} runs` : undefined}
              >
                Compare {selected.size > 0 ? `(${selected.size})` : ''}
              </button>
            </div>
          </div>
          {pages.error ? (
            <div className="error" role="alert">
              Could not load runs: {pages.error}
            </div>
          ) : null}
          {pages.loading && pages.runs.length === 0 && !pages.error ? (
            <p className="loading" role="status">
              Loading runs…
            </p>
          ) : null}
          {!pages.loading && pages.runs.length === 0 && !pages.error ? (
            <p className="empty">{status ? `No ${status} runs.` : 'No runs yet. Start one below.'}</p>
          ) : null}
          {pages.runs.length > 0 && shown.length === 0 ? <p className="empty">No loaded run uses a {family} technique.</p> : null}
          {shown.length > 0 ? (
            <RunsTable
              runs={shown}
              columns={columns}
              sort={sort}
              onSort={onSort}
              selected={selected}
              onToggle={onToggle}
              stepsOf={stepsOf}
              hasMore={pages.hasMore}
              loadingMore={pages.loading}
              onLoadMore={loadMore}
              onChanged={refresh}
            />
          ) : null}
          {sort.key !== 'createdAt' && pages.hasMore ? <p className="hint">Sorted among the runs loaded so far; scroll to load more.</p> : null}
          <WhenVisible minHeight={380}>
            <TradeoffChart runs={shown} labelOf={labelOf} />
          </WhenVisible>
        </section>

        {project ? (
          <div className="grid-2">
            <section className="card">
              <h2>New run</h2>
              <NewRunForm projectId={project.id} models={project.models} runBaseModelIds={baseIds} techniques={techniques} onCreated={() => pages.refresh()} />
            </section>
            <section className="card">
              <h2>Models</h2>
              <ModelsList models={project.models} />
              <ModelUpload projectId={project.id} teamId={project.team.id} onImported={reload} />
            </section>
          </div>
        ) : null}
      </main>
    </>
  );
}
