/**
 * Subscriptions to run events. Access is checked when a subscription starts and again
 * whenever an event arrives more than RECHECK_MS after the last check, so a revoked
 * session or a removed member stops receiving events without a query per event.
 */
import type { LoggedRunEvent } from '@distillery/db';
import { authorize, type AuthTarget } from '../authorization';
import type { ApiContext } from '../context';
import type { ResolverMap } from './resolver-types';

const RECHECK_MS = 30_000;

interface EventView {
  seq: string;
  kind: string;
  runId: string;
  projectId: string;
  at: Date;
  from?: string | null;
  status?: string | null;
  message?: string | null;
  stepId?: string;
  stepIndex?: number;
  progress?: number;
  points?: unknown[];
  modelId?: string;
}

export function eventView(e: LoggedRunEvent): EventView {
  const base = { seq: e.seq.toString(), runId: e.runId, projectId: e.projectId, at: new Date(e.at) };
  switch (e.kind) {
    case 'status':
      return { ...base, kind: 'status', from: e.from, status: e.to, message: e.message };
    case 'step':
      return { ...base, kind: 'step', stepId: e.stepId, stepIndex: e.index, status: e.status };
    case 'progress':
      return { ...base, kind: 'progress', progress: e.progress, message: e.message };
    case 'metrics':
      return { ...base, kind: 'metrics', points: e.points };
    case 'model':
      return { ...base, kind: 'model', modelId: e.modelId, stepIndex: e.stepIndex };
    case 'cancel-requested':
      return { ...base, kind: 'cancelRequested' };
  }
}

async function* guarded(ctx: ApiContext, target: AuthTarget, accept: (e: LoggedRunEvent) => boolean, field: string): AsyncGenerator<Record<string, EventView>> {
  let checkedAt = Date.now();
  for await (const event of ctx.runEvents.events(accept)) {
    if (Date.now() - checkedAt > RECHECK_MS) {
      await authorize(ctx.refreshed(), target, 'read');
      checkedAt = Date.now();
    }
    yield { [field]: eventView(event) };
  }
}

export const runEventsResolvers: ResolverMap = {
  Subscription: {
    runEvents: {
      async subscribe(_: unknown, args: { runId: string }, ctx: ApiContext) {
        await authorize(ctx, { runId: args.runId }, 'read');
        return guarded(ctx, { runId: args.runId }, (e) => e.runId === args.runId, 'runEvents');
      },
    },
    projectRunEvents: {
      async subscribe(_: unknown, args: { projectId: string }, ctx: ApiContext) {
        await authorize(ctx, { projectId: args.projectId }, 'read');
        return guarded(ctx, { projectId: args.projectId }, (e) => e.projectId === args.projectId, 'projectRunEvents');
      },
    },
  },
};
