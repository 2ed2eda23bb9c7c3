'use client';
/**
 * A project's runs, a page at a time from the API's cursor (newest first), with an
 * optional status filter applied by the API. `loadMore()` fetches the next page; while a
 * loaded run is queued or running, the newest page is fetched again every few seconds and
 * merged in, so statuses stay live without reloading thousands of rows.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useRouter } from 'next/navigation';
import { gql, GraphqlRequestError } from '../client/graphql';
import { RUNS_PAGE, type RunRow, type RunStatus, type RunsPageAnswer } from '../client/queries';
import { mergeNewest } from '../client/runs-view';

/** The first page is small so the list shows quickly (the API's cost grows with the rows); later pages are the API's maximum. */
export const FIRST_PAGE_SIZE = 50;
export const RUNS_PAGE_SIZE = 100;
const ACTIVE = new Set<RunStatus>(['queued', 'running']);

export interface RunPages {
  runs: RunRow[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  loadMore(): Promise<void>;
  refresh(): Promise<void>;
}

export function useRunPages(projectId: string, status: RunStatus | '', enabled: boolean): RunPages {
  const router = useRouter();
  const [runs, setRuns] = useState<RunRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const generation = useRef(0);

  const fetchPage = useCallback(
    (after: string | null) =>
      gql<RunsPageAnswer>(RUNS_PAGE, { projectId, first: after ? RUNS_PAGE_SIZE : FIRST_PAGE_SIZE, after, filter: status ? { status } : null }),
    [projectId, status],
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

  useEffect(() => {
    if (enabled) void refresh();
  }, [enabled, refresh]);

  const anyActive = runs.some((r) => ACTIVE.has(r.status));
  useEffect(() => {
    if (!enabled || !anyActive) return;
    const t = setInterval(async () => {
      const gen = generation.current;
      try {
        const page = await fetchPage(null);
        if (gen === generation.current) setRuns((prev) => mergeNewest(prev, page.runs.edges.map((e) => e.node)));
      } catch {
        // The next tick tries again; the API may be restarting.
      }
    }, 2000);
    return () => clearInterval(t);
  }, [enabled, anyActive, fetchPage]);

  return { runs, hasMore, loading, error, loadMore, refresh };
}
