/**
 * One LISTEN connection per process, fanned out to any number of in-process listeners
 * (an API process's subscriptions), losslessly: events carry their seq (commit order,
 * run-events.ts), the hub delivers each seq once and in order, and whenever it sees a gap
 * (a notification past the next seq) or has reconnected after a loss, it reads the missed
 * events from the run event log. The connection is re-established with a doubling delay.
 * Events older than the log's retention cannot be replayed; the hub prunes them.
 */
import { EventEmitter, on } from 'node:events';
import pg from 'pg';
import { parseRunEvent, parseRunEventNotification, pruneRunEvents, RUN_EVENT_RETENTION_MS, RUN_EVENTS_CHANNEL, type LoggedRunEvent } from './run-events.ts';
import type { PrismaClient } from '../generated/client.ts';

export interface RunEventHub {
  /** Events for which `accept` holds, until the loop over them ends or `signal` aborts. */
  events(accept: (event: LoggedRunEvent) => boolean, signal?: AbortSignal): AsyncGenerator<LoggedRunEvent>;
  /** Resolves once the LISTEN is in place; rejects when the first connection fails (later losses reconnect). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface RunEventHubOptions {
  onError?: (error: unknown) => void;
  /** Called after a lost connection is back and the events missed meanwhile were delivered. */
  onReconnect?: () => void;
  /** First delay before reconnecting; doubles up to 30 s. */
  retryMs?: number;
  /** When given, the hub deletes logged events older than `retentionMs` every `pruneEveryMs`. */
  prune?: { prisma: PrismaClient; retentionMs?: number; pruneEveryMs?: number };
}

/** The hub's connection as pg_stat_activity shows it. */
export const RUN_EVENT_HUB_APPLICATION = 'distillery-run-events';

/** Log rows read per query while catching up. */
const REPLAY_PAGE = 1000;

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

  /** The last seq delivered; null until the first connection has read where the log stands. */
  let last: bigint | null = null;
  /** Set while reading the log: notifications wait in `buffered` and are handled after. */
  let catchingUp = false;
  const buffered: LoggedRunEvent[] = [];

  const deliver = (event: LoggedRunEvent) => {
    // A replay from a connection that was lost meanwhile may repeat what another delivered.
    if (last !== null && event.seq <= last) return;
    last = event.seq;
    emitter.emit('event', event);
  };

  /** Reads every logged event after `last` (or, on the first connection, where the log ends), then the buffered notifications. */
  const catchUp = async (c: pg.Client): Promise<void> => {
    catchingUp = true;
    try {
      if (last === null) {
        const end = await c.query<{ seq: string }>(`SELECT coalesce(max(seq), 0)::text AS seq FROM "RunEventLog"`);
        last = BigInt(end.rows[0]!.seq);
      } else {
        for (;;) {
          const page: pg.QueryResult<{ seq: string; payload: string }> = await c.query(
            // Ordered by the column, not by its text form.
            `SELECT l.seq::text AS seq, l.payload FROM "RunEventLog" l WHERE l.seq > $1 ORDER BY l.seq LIMIT ${REPLAY_PAGE}`,
            [last.toString()],
          );
          if (client !== c) return;
          for (const row of page.rows) {
            const event = parseRunEvent(row.payload);
            if (event) deliver({ ...event, seq: BigInt(row.seq) });
            else if (BigInt(row.seq) > last) last = BigInt(row.seq);
          }
          if (page.rows.length < REPLAY_PAGE) break;
        }
      }
    } finally {
      if (client === c) catchingUp = false;
    }
    drain(c);
  };

  const handle = (c: pg.Client, event: LoggedRunEvent): void => {
    if (catchingUp || last === null) {
      buffered.push(event);
      return;
    }
    if (event.seq <= last) return;
    if (event.seq === last + 1n) {
      deliver(event);
      return;
    }
    // A gap: events in between committed before this one (the log is in commit order) and
    // their notifications never reached us, or they rolled back. The log says which.
    buffered.unshift(event);
    void catchUp(c).catch((error: unknown) => lost(c, error));
  };

  const drain = (c: pg.Client) => {
    if (client !== c) return;
    while (buffered.length > 0 && !catchingUp) handle(c, buffered.shift()!);
  };

  const lost = (c: pg.Client, error: unknown) => {
    options.onError?.(error);
    reconnectLater(c);
  };

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: databaseUrl, application_name: RUN_EVENT_HUB_APPLICATION });
    c.on('notification', (n) => {
      if (n.channel !== RUN_EVENTS_CHANNEL || n.payload === undefined || client !== c) return;
      const event = parseRunEventNotification(n.payload);
      if (event) handle(c, event);
    });
    c.on('error', (error) => lost(c, error));
    c.on('end', () => reconnectLater(c));
    try {
      await c.connect();
      client = c;
      await c.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
      // Notifications from here on are buffered until the log has been read up to them.
      await catchUp(c);
    } catch (error) {
      if (client === c) client = null;
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
    delay = options.retryMs ?? 500;
    if (!started) {
      started = true;
      markReady();
    } else options.onReconnect?.();
  };

  const reconnectLater = (c: pg.Client) => {
    if (closed || timer !== null) return;
    if (client !== null && client !== c) return;
    client = null;
    // What was buffered is read again from the log after the reconnect.
    buffered.length = 0;
    catchingUp = false;
    c.removeAllListeners('end');
    void c.end().catch(() => undefined);
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    delay = Math.min(30_000, delay * 2);
  };

  let pruneTimer: ReturnType<typeof setInterval> | null = null;
  if (options.prune) {
    const { prisma, retentionMs = RUN_EVENT_RETENTION_MS, pruneEveryMs = 60_000 } = options.prune;
    pruneTimer = setInterval(() => {
      pruneRunEvents(prisma, retentionMs).catch((error: unknown) => options.onError?.(error));
    }, pruneEveryMs);
    pruneTimer.unref();
  }

  void connect();

  return {
    ready,
    async *events(accept, signal) {
      for await (const [event] of on(emitter, 'event', signal ? { signal } : {})) {
        if (accept(event as LoggedRunEvent)) yield event as LoggedRunEvent;
      }
    },
    async close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      if (pruneTimer !== null) clearInterval(pruneTimer);
      const c = client;
      client = null;
      c?.removeAllListeners('end');
      await c?.end().catch(() => undefined);
    },
  };
}
