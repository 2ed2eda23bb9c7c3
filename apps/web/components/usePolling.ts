'use client';
/**
 * Loads data now and again every `intervalMs` while `keepPolling(data)` holds, so pages
 * show live run status without a subscription. Errors are kept, not thrown.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { GraphqlRequestError } from '../client/graphql';
import { useRouter } from 'next/navigation';

export interface Polled<T> {
  data: T | null;
  error: string | null;
  reload(): Promise<void>;
}

export function usePolling<T>(load: () => Promise<T>, keepPolling: (data: T) => boolean, intervalMs = 2000, enabled = true): Polled<T> {
  const router = useRouter();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keepRef = useRef(keepPolling);
  keepRef.current = keepPolling;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const alive = useRef(true);

  const reload = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    try {
      const next = await loadRef.current();
      if (!alive.current) return;
      setData(next);
      setError(null);
      if (keepRef.current(next)) timer.current = setTimeout(() => void reload(), intervalMs);
    } catch (e) {
      if (!alive.current) return;
      if (e instanceof GraphqlRequestError && e.unauthenticated) {
        router.replace('/signin');
        return;
      }
      setError((e as Error).message);
      // Keep trying: the API may be restarting.
      timer.current = setTimeout(() => void reload(), intervalMs * 2);
    }
  }, [intervalMs, router]);

  useEffect(() => {
    alive.current = true;
    if (enabled) void reload();
    return () => {
      alive.current = false;
      if (timer.current) clearTimeout(timer.current);
    };
  }, [enabled, reload]);

  return { data, error, reload };
}
