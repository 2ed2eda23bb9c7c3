/**
 * Canceling a sweep: under the sweep's row lock (the one advanceSweep takes, so no run
 * starts concurrently), each unfinished run of it is canceled through the run lifecycle
 * (cancel-run.ts). The sweep is `canceled` when every run of it has finished, otherwise
 * `canceling` until the advance-sweep job sees the last running one stop.
 */
import type { Prisma, PrismaClient, Sweep, SweepStatus } from '@distillery/db';
import { scheduleSweepAdvance } from './advance-sweep';
import { cancelRun } from './cancel-run';

/** The sweep after the request (unchanged when it had already ended); null when it does not exist. */
export async function cancelSweep(prisma: PrismaClient, sweepId: string, recheckMs = 1_000): Promise<Sweep | null> {
  return prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ status: SweepStatus }[]>`SELECT status::text AS status FROM "Sweep" WHERE id = ${sweepId}::uuid FOR UPDATE`;
    const status = locked[0]?.status;
    if (status === undefined) return null;
    if (status === 'active' || status === 'canceling') {
      if ((await stopSweepRuns(tx, sweepId)) === 'canceling') await scheduleSweepAdvance(tx, sweepId, recheckMs);
    }
    return tx.sweep.findUniqueOrThrow({ where: { id: sweepId } });
  });
}

/**
 * With the sweep's row locked: cancels its queued runs and asks its running ones to stop,
 * then records `canceled` when none is left running, `canceling` otherwise.
 */
export async function stopSweepRuns(tx: Prisma.TransactionClient, sweepId: string): Promise<SweepStatus> {
  const open = await tx.run.findMany({ where: { sweepId, status: { in: ['queued', 'running'] } }, select: { id: true, status: true, cancelRequested: true } });
  let unfinished = 0;
  for (const run of open) {
    if (run.status === 'running' && run.cancelRequested) {
      unfinished++;
      continue;
    }
    const after = await cancelRun(tx, run.id);
    if (after && (after.status === 'queued' || after.status === 'running')) unfinished++;
  }
  const status: SweepStatus = unfinished > 0 ? 'canceling' : 'canceled';
  await tx.sweep.update({ where: { id: sweepId }, data: { status } });
  return status;
}
