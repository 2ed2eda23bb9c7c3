/**
 * Direct edits of one graphile-worker 0.18 job row, inside our own transactions. The
 * public functions do not fit: force_unlock_workers unlocks every job of a worker pool
 * (one process may run several), complete_jobs skips locked jobs, and graphile-worker
 * completes a job without awaiting it, so a process exiting right after a run finishes
 * could leave the finished job locked for 4 hours. Deleting the job in the transaction
 * that records the run's outcome makes the two one event; graphile-worker's own later
 * delete of the same id is then a no-op.
 */
import type { Prisma } from '@distillery/db';

/** Deletes the job if `lockedBy` still holds it. */
export async function deleteJob(tx: Prisma.TransactionClient, jobId: string, lockedBy: string): Promise<void> {
  await tx.$executeRaw`DELETE FROM graphile_worker._private_jobs WHERE id = ${jobId}::bigint AND locked_by = ${lockedBy}`;
}

/** Frees a job whose worker is gone, keeping its attempt count (the dead attempt counts). */
export async function unlockJob(tx: Prisma.TransactionClient, jobId: string): Promise<void> {
  await tx.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_at = NULL, locked_by = NULL, run_at = now() WHERE id = ${jobId}::bigint`;
}
