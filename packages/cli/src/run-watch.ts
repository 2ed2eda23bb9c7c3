/**
 * Follows one run until it ends: its events over the graphql-ws subscription (runEvents),
 * shown as progress; polling run(id) only when the socket cannot be used. Answers the
 * run's final state.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Call } from './api-call';
import { AuthError } from './auth-error';
import type { Connection } from './credentials';
import type { ProgressDisplay } from './progress-display';

export interface RunState {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled';
  error: string | null;
  progress: number;
  progressMessage: string | null;
  outputModel: { id: string; sha256: string; bytes: number } | null;
  metrics: { name: string; value: number; unit: string | null; runStepId: string | null }[];
  steps: { index: number; techniqueId: string; status: string }[];
}

export const RUN_STATE_FIELDS = 'id status error progress progressMessage outputModel { id sha256 bytes } metrics { name value unit runStepId } steps { index techniqueId status }';

interface RunEvent {
  kind: 'status' | 'step' | 'progress' | 'metrics' | 'model' | 'cancelRequested';
  status: string | null;
  from: string | null;
  stepIndex: number | null;
  progress: number | null;
  message: string | null;
  modelId: string | null;
  points: { name: string }[] | null;
}

const SUBSCRIPTION = 'subscription($id: ID!) { runEvents(runId: $id) { kind status from stepIndex progress message modelId points { name } } }';
const FINAL = new Set(['succeeded', 'failed', 'canceled']);
/** Close code the API uses for a connection without a valid token. */
const FORBIDDEN_CLOSE = 4403;

export function isFinal(status: string): boolean {
  return FINAL.has(status);
}

async function readRun(call: Call, id: string): Promise<RunState> {
  return (await call<{ run: RunState }>(`query($id: ID!) { run(id: $id) { ${RUN_STATE_FIELDS} } }`, { id })).run;
}

function stepLabel(run: RunState, index: number | null): string {
  if (index === null) return '';
  const step = run.steps.find((s) => s.index === index);
  return `step ${index + 1}/${run.steps.length}${step ? ` ${step.techniqueId}` : ''}`;
}

class SocketUnavailable extends Error {}

/** Events until the run ends; throws SocketUnavailable when no subscription could be made. */
async function followEvents(c: Connection, call: Call, initial: RunState, progress: ProgressDisplay): Promise<void> {
  let connected = false;
  let closeCode: number | undefined;
  let closeReason = '';
  const client: Client = createClient({
    url: `${c.apiUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${c.token}` },
    retryAttempts: 0,
    lazy: true,
    on: {
      connected: () => {
        connected = true;
      },
      closed: (event) => {
        closeCode = (event as { code?: number }).code;
        closeReason = String((event as { reason?: unknown }).reason ?? '');
      },
    },
  });
  let stopped = false;
  let run = initial;
  let fraction = initial.progress;
  let message = initial.progressMessage ?? initial.status;
  try {
    const events = client.iterate<{ runEvents: RunEvent }>({ query: SUBSCRIPTION, variables: { id: initial.id } });
    // Events from before the subscription began are not replayed: read the run once it is open.
    const catchUp = (async () => {
      while (!connected && !stopped) await new Promise((r) => setTimeout(r, 50));
      return stopped ? new Promise<never>(() => {}) : readRun(call, initial.id);
    })();
    let caughtUp = false;
    const next = () => events.next();
    let pending = next();
    for (;;) {
      const winner = caughtUp ? await pending.then((r) => ({ event: r })) : await Promise.race([pending.then((r) => ({ event: r })), catchUp.then((state) => ({ state }))]);
      if ('state' in winner) {
        caughtUp = true;
        if (winner.state.status !== run.status) progress.note(`run ${run.id} ${run.status} -> ${winner.state.status}`);
        run = winner.state;
        if (isFinal(run.status)) break;
        fraction = run.progress;
        message = run.progressMessage ?? run.status;
        progress.update(fraction, message);
        continue;
      }
      const r = winner.event;
      if (r.done) break;
      if (r.value.errors?.length) throw new Error(r.value.errors.map((e) => e.message).join('; '));
      const e = r.value.data!.runEvents;
      if (e.kind === 'status' && e.status) {
        progress.note(`run ${run.id} ${e.from ?? 'new'} -> ${e.status}${e.message ? `: ${e.message}` : ''}`);
        if (isFinal(e.status)) break;
      } else if (e.kind === 'step' && e.status) {
        progress.note(`${stepLabel(run, e.stepIndex)}: ${e.status}`);
      } else if (e.kind === 'model' && e.modelId) {
        progress.note(`produced model ${e.modelId}`);
      } else if (e.kind === 'cancelRequested') {
        progress.note('cancellation requested');
      }
      // Progress messages name the step themselves.
      if (e.progress !== null) fraction = e.progress;
      if (e.message) message = e.message;
      if (e.kind === 'progress' || e.kind === 'step') progress.update(fraction, message);
      pending = next();
    }
    await events.return?.(undefined);
  } catch (error) {
    if (closeCode === FORBIDDEN_CLOSE) throw new AuthError('the API refused the token for the event subscription');
    // A socket that failed (before or during the run) leaves polling; a GraphQL error does not.
    if (!(error instanceof Error) || closeCode !== undefined || !connected) throw new SocketUnavailable(error instanceof Error ? error.message : `socket closed (code ${closeCode ?? 'unknown'}${closeReason ? `: ${closeReason}` : ''})`);
    throw error;
  } finally {
    stopped = true;
    await client.dispose();
  }
}

async function poll(call: Call, id: string, progress: ProgressDisplay): Promise<void> {
  let last = '';
  for (;;) {
    const run = await readRun(call, id);
    if (run.status !== last) progress.note(`run ${id} ${last || 'is'} -> ${run.status}`);
    last = run.status;
    if (isFinal(run.status)) return;
    progress.update(run.progress, run.progressMessage ?? run.status);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function watchRun(c: Connection, call: Call, id: string, progress: ProgressDisplay): Promise<RunState> {
  const initial = await readRun(call, id);
  if (!isFinal(initial.status)) {
    try {
      await followEvents(c, call, initial, progress);
    } catch (error) {
      if (!(error instanceof SocketUnavailable)) throw error;
      progress.note(`event subscription unavailable (${error.message}); polling instead`);
      await poll(call, id, progress);
    }
  }
  progress.done();
  return readRun(call, id);
}
