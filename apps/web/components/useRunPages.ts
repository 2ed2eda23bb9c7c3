'use client';
/**
 * A project's runs, a page at a time from the API's cursor (newest first), with the
 * page's filters applied by the API. `loadMore()` fetches the next page; the
 * project's run events (a subscription) fetch the newest page again and merge it in, so
 * statuses stay live without reloading thousands of rows.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import { gql, GraphqlRequestError } from '../client/graphql';
import { RUNS_PAGE, type RunRow, type RunsPageAnswer } from '../client/queries';
import { apiRunFilter, filterToSearch, type RunListFilter } from '../client/run-filters';
import { mergeNewest } from '../client/runs-view';
import { PROJECT_RUN_EVENTS } from '../client/subscriptions';
import { useLiveReload, type LiveState } from './useLiveReload';

/** The first page is small so the list shows quickly (the API's cost grows with the rows); later pages are the API's maximum. */
export const FIRST_PAGE_SIZE = 50;
export const RUNS_PAGE_SIZE = 100;

export interface RunPages {
  runs: RunRow[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  loadMore(): Promise<void>;
  refresh(): Promise<void>;
  /** Whether run events are arriving. */
  live: LiveState;
}

export function useRunPages(projectId: string, filter: RunListFilter, enabled: boolean): RunPages {
  const router = useRouter();
  const [runs, setRuns] = useState<RunRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const generation = useRef(0);

  // Keyed by the filter's link form, so an equal filter built anew does not refetch.
  const key = filterToSearch(filter);
  const apiFilter = useMemo(() => apiRunFilter(filter), [key]);
  const fetchPage = useCallback(
    (after: string | null) => gql<RunsPageAnswer>(RUNS_PAGE, { projectId, first: after ? RUNS_PAGE_SIZE : FIRST_PAGE_SIZE, after, filter: apiFilter }),
    [projectId, apiFilter],
  );
  const fail = useCallback(
    (e: unknown) => {
      if (e instanceof GraphqlRequestError && e.unauthenticated) router.replace('/signin');
      else setError((e as Error).message);
    },
    [router],
  );

  const refresh = useCallback(async () => {
    const gen = ++generation.current;
    setLoading(true);
    try {
      const page = await fetchPage(null);
      if (gen !== generation.current) return;
      setRuns(page.runs.edges.map((e) => e.node));
      setCursor(page.runs.pageInfo.endCursor);
      setHasMore(page.runs.pageInfo.hasNextPage);
      setError(null);
    } catch (e) {
      if (gen === generation.current) fail(e);
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }, [fetchPage, fail]);

  const loadMore = useCallback(async () => {
    if (busy.current || !hasMore || !cursor) return;
    busy.current = true;
    const gen = generation.current;
    setLoading(true);
    try {
      const page = await fetchPage(cursor);
      if (gen !== generation.current) return;
      setRuns((prev) => {
        const known = new Set(prev.map((r) => r.id));
        return [...prev, ...page.runs.edges.map((e) => e.node).filter((r) => !known.has(r.id))];
      });
      setCursor(page.runs.pageInfo.endCursor);
      setHasMore(page.runs.pageInfo.hasNextPage);
    } catch (e) {
      fail(e);
    } finally {
      busy.current = false;
      setLoading(false);
    }
  }, [cursor, hasMore, fetchPage, fail]);

  // Another filter: the rows of the previous one go at once, not when the new page arrives.
  useEffect(() => {
    setRuns([]);
    setCursor(null);
    setHasMore(false);
    if (enabled) void refresh();
  }, [enabled, refresh]);

  // The project's run events (new runs, status and progress changes) refresh the first page in place.
  const refreshNewest = useCallback(async () => {
    const gen = generation.current;
    const page = await fetchPage(null);
    if (gen === generation.current) setRuns((prev) => mergeNewest(prev, page.runs.edges.map((e) => e.node)));
  }, [fetchPage]);
  const live = useLiveReload(PROJECT_RUN_EVENTS, { projectId }, refreshNewest, enabled);

  return { runs, hasMore, loading, error, loadMore, refresh, live: live.state };
}
