/**
 * Canceling one run through the run lifecycle: a queued run is canceled at once (with its
 * steps and its job); a running run is asked to stop, which its worker does at the next
 * safe point. Shared by the API's cancelRun and sweep cancellation.
 */
import { lockRun, requestCancel, transitionRun, transitionSteps, type Prisma, type Run } from '@distillery/db';
import { dequeueRun } from './run-queue';

/** The run after the request (canceled, or running with cancelRequested), or as it was when already finished; null when it does not exist. */
export async function cancelRun(tx: Prisma.TransactionClient, runId: string): Promise<Run | null> {
  // Conditional: a worker may pick the run up concurrently.
  const now = new Date();
  const queued = await lockRun(tx, runId, { status: ['queued'] });
  if (queued) {
    await transitionSteps(tx, queued, 'canceled', { status: ['queued'] }, { finishedAt: now });
    await dequeueRun(tx, runId);
    return transitionRun(tx, runId, 'canceled', { status: ['queued'] }, { finishedAt: now });
  }
  // The executing worker sees the flag on its next heartbeat and stops at a safe point.
  return (await requestCancel(tx, runId)) ?? tx.run.findUnique({ where: { id: runId } });
}
