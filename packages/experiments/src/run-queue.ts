/**
 * The hand-off from whoever starts a run (API, sweep engine) to the workers: a
 * graphile-worker job named `execute-run`, keyed by the run id so a run is never queued
 * twice. Both functions take the transaction the Run row is written in, so a run and its
 * job exist together or not at all.
 */
import type { Prisma } from '@distillery/db';

export const EXECUTE_RUN_TASK = 'execute-run';
export const RUN_JOB_MAX_ATTEMPTS = 3;

export async function enqueueRun(tx: Prisma.TransactionClient, runId: string): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(${EXECUTE_RUN_TASK}::text, json_build_object('runId', ${runId}::text), job_key := ${runId}::text, max_attempts := ${RUN_JOB_MAX_ATTEMPTS}::int)`;
}

/** Remove a run's job unless a worker has already locked it (then the worker sees the status). */
export async function dequeueRun(tx: Prisma.TransactionClient, runId: string): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.remove_job(${runId}::text)`;
}
