'use client';
import Link from 'next/link';
import { useParams, usePathname, useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ColumnPicker } from '../../../components/ColumnPicker';
import { ModelsList } from '../../../components/ModelsList';
import { TradeoffChart } from '../../../components/LazyCharts';
import { WhenVisible } from '../../../components/WhenVisible';
import { NavBar } from '../../../components/NavBar';
import { NewRunForm } from '../../../components/NewRunForm';
import { ModelUpload } from '../../../components/ModelUpload';
import { PageState } from '../../../components/PageState';
import { RunFilters } from '../../../components/RunFilters';
import { RunsTable } from '../../../components/RunsTable';
import { usePolling } from '../../../components/usePolling';
import { useRunPages } from '../../../components/useRunPages';
import { useSession } from '../../../components/useSession';
import { gql } from '../../../client/graphql';
import { MAX_COMPARE } from '../../../client/compare';
import { PROJECT, TECHNIQUES, type ProjectAnswer, type RunRow, type Technique } from '../../../client/queries';
import { apiRunFilter, filterFromSearch, filterToSearch, isFiltered, type RunListFilter } from '../../../client/run-filters';
import {
  DEFAULT_COLUMNS,
  metricColumnChoices,
  sortRuns,
  stepSummaries,
  techniqueDefaults,
  type SortKey,
  type SortState,
} from '../../../client/runs-view';

const SWEEP_NAMES = `query SweepNames($projectId: ID!) { sweeps(projectId: $projectId) { id name } }`;

export default function ProjectPage() {
  return (
    <Suspense fallback={<PageState what="project" loading />}>
      <Project />
    </Suspense>
  );
}

function Project() {
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

  const [sweeps, setSweeps] = useState<{ id: string; name: string }[]>([]);
  useEffect(() => {
    gql<{ sweeps: { id: string; name: string }[] }>(SWEEP_NAMES, { projectId: id }).then(
      (d) => setSweeps(d.sweeps),
      () => setSweeps([]),
    );
  }, [id]);

  // The filters live in the link, so a filtered list can be shared.
  const search = useSearchParams();
  const pathname = usePathname();
  const searchText = search?.toString() ?? '';
  const filter = useMemo(() => filterFromSearch(new URLSearchParams(searchText)), [searchText]);
  const setFilter = useCallback(
    (next: RunListFilter) => {
      const q = filterToSearch(next);
      router.replace(q ? `${pathname}?${q}` : (pathname ?? ''), { scroll: false });
    },
    [router, pathname],
  );
  const [sort, setSort] = useState<SortState>({ key: 'createdAt', descending: true });
  const [columns, setColumns] = useState<string[]>(DEFAULT_COLUMNS);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const pages = useRunPages(id, filter, true);

  const defaults = useMemo(() => techniqueDefaults(techniques), [techniques]);
  const families = useMemo(() => [...new Set(techniques.map((t) => t.family))].sort(), [techniques]);
  const shown = useMemo(() => sortRuns(pages.runs, sort), [pages.runs, sort]);
  const stepsOf = useCallback((run: RunRow) => stepSummaries(run.recipe, defaults), [defaults]);
  const labelOf = useCallback(
    (run: { recipe: unknown }) =>
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
  // New or finished runs among the newest ask the trade-off again; loading older pages does not.
  const tradeoffKey = useMemo(() => pages.runs.slice(0, 50).map((r) => `${r.id}:${r.status}`).join(','), [pages.runs]);
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
          <RunFilters filter={filter} onChange={setFilter} families={families} sweeps={sweeps} metrics={choices} />
          <PageState
            what="runs"
            loading={pages.loading && pages.runs.length === 0}
            error={pages.error}
            onRetry={refresh}
            empty={!pages.loading && pages.runs.length === 0 ? (isFiltered(filter) ? 'No run matches these filters.' : 'No runs yet. Start one below.') : null}
            testId="runs"
          />
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
          {/* The project's trade-off is the page's heaviest query (every run of the project): it starts once the
              list has arrived and the chart's place is actually on screen, not while the list is still loading. */}
          <WhenVisible minHeight={380} ready={!(pages.loading && pages.runs.length === 0)} ahead={0} testId="tradeoff-slot">
            <TradeoffChart scope={{ projectId: id, filter: apiRunFilter(filter) }} labelOf={labelOf} refreshKey={tradeoffKey} />
            <p className="hint">{isFiltered(filter) ? 'The trade-off of the runs these filters select.' : "The trade-off of all the project's runs; the filters above narrow it."}</p>
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
