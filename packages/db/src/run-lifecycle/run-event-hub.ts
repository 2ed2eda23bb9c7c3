/**
 * One LISTEN connection per process, fanned out to any number of in-process listeners
 * (an API process's subscriptions). The connection is re-established after a loss with a
 * doubling delay; events sent while it was down are missed, so `onReconnect` lets
 * listeners re-read state they care about.
 */
import { EventEmitter, on } from 'node:events';
import pg from 'pg';
import { parseRunEvent, RUN_EVENTS_CHANNEL, type RunEvent } from './run-events.ts';

export interface RunEventHub {
  /** Events for which `accept` holds, until the loop over them ends or `signal` aborts. */
  events(accept: (event: RunEvent) => boolean, signal?: AbortSignal): AsyncGenerator<RunEvent>;
  /** Resolves once the LISTEN is in place; rejects when the first connection fails (later losses reconnect). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface RunEventHubOptions {
  onError?: (error: unknown) => void;
  onReconnect?: () => void;
  /** First delay before reconnecting; doubles up to 30 s. */
  retryMs?: number;
}

export function startRunEventHub(databaseUrl: string, options: RunEventHubOptions = {}): RunEventHub {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let client: pg.Client | null = null;
  let closed = false;
  let delay = options.retryMs ?? 500;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  let started = false;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: databaseUrl });
    c.on('notification', (n) => {
      if (n.channel !== RUN_EVENTS_CHANNEL || n.payload === undefined) return;
      // Every process hears every event (an ingested batch is dozens of payloads): parse only for listeners.
      if (emitter.listenerCount('event') === 0) return;
      const event = parseRunEvent(n.payload);
      if (event) emitter.emit('event', event);
    });
    c.on('error', (error) => {
      options.onError?.(error);
      reconnectLater(c);
    });
    c.on('end', () => reconnectLater(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
    } catch (error) {
      if (!started) {
        // Nothing is listening yet: the caller decides whether to start at all.
        closed = true;
        if (timer !== null) clearTimeout(timer);
        await c.end().catch(() => undefined);
        failReady(new Error(`could not LISTEN ${RUN_EVENTS_CHANNEL}: ${(error as Error).message}`, { cause: error }));
        return;
      }
      options.onError?.(error);
      reconnectLater(c);
      return;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    delay = options.retryMs ?? 500;
    if (!started) {
      started = true;
      markReady();
    } else options.onReconnect?.();
  };

  const reconnectLater = (c: pg.Client) => {
    if (closed || timer !== null) return;
    if (client !== null && client !== c) return;
    c.removeAllListeners('end');
    void c.end().catch(() => undefined);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    delay = Math.min(30_000, delay * 2);
  };

  void connect();

  return {
    ready,
    async *events(accept, signal) {
      for await (const [event] of on(emitter, 'event', signal ? { signal } : {})) {
        if (accept(event as RunEvent)) yield event as RunEvent;
      }
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      const c = client;
      client = null;
      c?.removeAllListeners('end');
      await c?.end().catch(() => undefined);
    },
  };
}
