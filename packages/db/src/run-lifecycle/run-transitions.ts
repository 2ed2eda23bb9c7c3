/**
 * The legal status changes of a run and of its steps. A run is queued, claimed by a
 * worker (running), and ends succeeded, failed or canceled; a running run may go back to
 * queued (a retry, a worker shutdown, a stale heartbeat) or be claimed again by a new
 * attempt. Finished runs never change status: a re-run is a new run.
 */
import type { RunStatus } from '../generated/client.ts';

const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'canceled', 'failed'],
  // running -> running: a new attempt takes over a run whose previous attempt left no outcome.
  running: ['running', 'queued', 'succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
};

const STEP_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  // queued -> failed: the step a failed attempt was about to start.
  queued: ['running', 'canceled', 'failed'],
  running: ['queued', 'succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
};

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly subject: 'run' | 'step',
    readonly id: string,
    readonly from: RunStatus,
    readonly to: RunStatus,
  ) {
    super(`${subject} ${id} cannot go from ${from} to ${to}`);
  }
}

export function canTransitionRun(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

export function canTransitionStep(from: RunStatus, to: RunStatus): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

export function assertRunTransition(runId: string, from: RunStatus, to: RunStatus): void {
  if (!canTransitionRun(from, to)) throw new IllegalTransitionError('run', runId, from, to);
}

export function assertStepTransition(stepId: string, from: RunStatus, to: RunStatus): void {
  if (!canTransitionStep(from, to)) throw new IllegalTransitionError('step', stepId, from, to);
}

export const FINISHED_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'canceled'];
