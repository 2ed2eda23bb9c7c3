/**
 * GraphQL subscriptions over one graphql-ws socket to the dashboard's /graphql, which
 * relays it to the API with the session cookie (server/graphql-socket-proxy.mjs). The
 * socket opens with the first subscription, closes after the last, and reconnects.
 */
import { createClient, type Client } from 'graphql-ws';

export const RUN_EVENTS = `subscription RunEvents($runId: ID!) { runEvents(runId: $runId) { kind runId status progress } }`;
export const PROJECT_RUN_EVENTS = `subscription ProjectRunEvents($projectId: ID!) { projectRunEvents(projectId: $projectId) { kind runId status progress } }`;

export interface RunEventSummary {
  kind: string;
  runId: string;
  status: string | null;
  progress: number | null;
}

let client: Client | null = null;
let open = false;
const connectedListeners = new Set<() => void>();

function socketClient(): Client {
  if (client) return client;
  client = createClient({
    url: () => `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`,
    lazy: true,
    retryAttempts: 1_000_000,
    keepAlive: 20_000,
    // A socket refused for lack of a session is not retried forever.
    shouldRetry: (e) => !(e instanceof CloseEvent && e.code === 4403),
  });
  // Events sent while the socket was down are lost: listeners reload on every (re)connection.
  client.on('connected', () => {
    open = true;
    for (const f of connectedListeners) f();
  });
  client.on('closed', () => {
    open = false;
  });
  return client;
}

export interface SubscriptionHandlers<T> {
  next(data: T): void;
  error(message: string): void;
  /** The socket (re)connected: reload what the events would have updated. */
  connected(): void;
}

function describe(e: unknown): string {
  if (e instanceof CloseEvent) return `the live connection closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`;
  if (Array.isArray(e)) return e.map((x: { message?: string }) => x.message ?? String(x)).join('; ');
  if (e instanceof Error) return e.message;
  return 'the live connection failed';
}

/** Subscribes; the answer unsubscribes. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, h: SubscriptionHandlers<T>): () => void {
  connectedListeners.add(h.connected);
  // A socket already open for another subscription will not announce itself again.
  if (open) queueMicrotask(h.connected);
  const stop = socketClient().subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors?.length) h.error(r.errors.map((e) => e.message).join('; '));
        else if (r.data) h.next(r.data);
      },
      error: (e) => h.error(describe(e)),
      complete: () => {},
    },
  );
  return () => {
    connectedListeners.delete(h.connected);
    stop();
  };
}
