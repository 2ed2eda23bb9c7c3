/**
 * The executing worker's proof of life, and its cancellation poll in the same query: every
 * beat stamps heartbeatAt on the run it owns and reads cancelRequested back. A beat that
 * matches no row means the run was canceled or handed to another worker by the sweep
 * (stale-run-sweep.ts); either way this worker must stop at its next safe point.
 */
import type { PrismaClient } from '@distillery/db';
import type { StopReason } from './cancel-flag';

export interface Heartbeat {
  stop(): Promise<void>;
}

export type BeatResult = 'alive' | StopReason;

export async function beat(prisma: PrismaClient, runId: string, workerId: string): Promise<BeatResult> {
  const rows = await prisma.$queryRaw<{ cancelRequested: boolean }[]>`
    UPDATE "Run" SET "heartbeatAt" = now()
    WHERE id = ${runId}::uuid AND "workerId" = ${workerId} AND status = 'running'
    RETURNING "cancelRequested"`;
  if (rows.length === 1) return rows[0]!.cancelRequested ? 'canceled' : 'alive';
  const run = await prisma.run.findUnique({ where: { id: runId }, select: { status: true } });
  return run?.status === 'canceled' ? 'canceled' : 'lost';
}

export function startHeartbeat(
  prisma: PrismaClient,
  runId: string,
  workerId: string,
  intervalMs: number,
  onStop: (reason: StopReason) => void,
  onError: (error: unknown) => void,
): Heartbeat {
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = inFlight
      .then(async () => {
        const result = await beat(prisma, runId, workerId);
        if (result !== 'alive') onStop(result);
      })
      // A missed beat is survivable: the sweep only acts after many intervals.
      .catch(onError);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
