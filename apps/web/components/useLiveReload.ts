'use client';
/**
 * Reloads a page's data when a subscription reports something happened, instead of
 * polling: bursts of events (metric points while training) coalesce into one reload at
 * a time, and the socket (re)connecting reloads too, since events sent while it was down
 * are lost. A subscription the API ended with an error falls back to polling.
 */
import { useEffect, useRef, useState } from 'react';
import { subscribe } from '../client/subscriptions';

export type LiveState = 'connecting' | 'live' | 'lost';
/** How the page learns of changes: subscription events, or polling once a subscription failed (kept after the page stops following). */
export type LiveTransport = 'subscription' | 'polling';

const COALESCE_MS = 250;
const FALLBACK_POLL_MS = 3000;

export function useLiveReload(query: string, variables: Record<string, unknown>, reload: () => Promise<unknown>, enabled = true): { state: LiveState; error: string | null; transport: LiveTransport } {
  const [state, setState] = useState<LiveState>('connecting');
  const [transport, setTransport] = useState<LiveTransport>('subscription');
  const [error, setError] = useState<string | null>(null);
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  const key = JSON.stringify(variables);

  useEffect(() => {
    if (!enabled) return;
    let running = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let fallback: ReturnType<typeof setInterval> | null = null;
    const run = async () => {
      timer = null;
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        await reloadRef.current();
      } catch {
        // The page shows its own load errors.
      } finally {
        running = false;
        if (again) {
          again = false;
          schedule();
        }
      }
    };
    const schedule = () => {
      if (!timer) timer = setTimeout(() => void run(), COALESCE_MS);
    };
    setState('connecting');
    setTransport('subscription');
    const stop = subscribe<unknown>(query, JSON.parse(key) as Record<string, unknown>, {
      next: () => schedule(),
      error: (message) => {
        setState('lost');
        setError(message);
        // Without events the page would go stale: poll until the page is left.
        if (!fallback) fallback = setInterval(schedule, FALLBACK_POLL_MS);
        setTransport('polling');
      },
      connected: () => {
        setState('live');
        setError(null);
        schedule();
      },
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
      if (fallback) clearInterval(fallback);
    };
  }, [query, key, enabled]);

  return { state, error, transport };
}
