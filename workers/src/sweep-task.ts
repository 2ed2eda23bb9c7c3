/**
 * The `advance-sweep` job: start the runs a sweep can start now (packages/experiments),
 * then schedule itself again while the sweep is active or canceling, so the sweep keeps pace with its
 * runs finishing on any worker.
 */
import type { PrismaClient } from '@distillery/db';
import { advanceSweep, scheduleSweepAdvance } from '@distillery/experiments';
import type { JobHelpers } from 'graphile-worker';
import type { Logger } from 'pino';
import { z } from 'zod';

const SweepPayloadSchema = z.object({ sweepId: z.uuid() });

export function sweepTask(prisma: PrismaClient, log: Logger, intervalMs: number) {
  return async (payload: unknown, helpers: JobHelpers): Promise<void> => {
    const parsed = SweepPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      log.error({ jobId: helpers.job.id, payload }, 'advance-sweep job without a valid sweepId; dropped');
      return;
    }
    const { sweepId } = parsed.data;
    const r = await advanceSweep(prisma, sweepId);
    if (r.created.length) log.info({ sweepId, runs: r.created.length }, 'sweep started runs');
    if (r.status === 'active' || r.status === 'canceling') await scheduleSweepAdvance(prisma, sweepId, intervalMs);
    else log.info({ sweepId, status: r.status }, 'sweep closed');
  };
}
