/**
 * Recovery from workers that died mid-run (SIGKILL, OOM, lost machine). graphile-worker
 * 0.18 frees a dead worker's job only once its lock is 4 hours old (get_job's
 * job_expiry), so runs carry their own heartbeat and any worker sweeps: a running run
 * whose heartbeat is older than `staleAfterMs` is queued again and its job unlocked while
 * the job has attempts left, or else marked failed with the reason (and its job marked
 * permanently failed). The job's attempt counter already counts the dead attempt.
 */
import { lockRun, transitionRun, transitionSteps, type PrismaClient } from '@distillery/db';
import { unlockJob } from './graphile-jobs';

export interface SweptRun {
  runId: string;
  action: 'requeued' | 'failed';
  reason: string;
}

interface StaleRow {
  id: string;
  workerId: string | null;
  jobId: bigint | null;
  jobAttempts: number | null;
  maxAttempts: number | null;
}

export async function sweepStaleRuns(prisma: PrismaClient, staleAfterMs: number): Promise<SweptRun[]> {
  const seconds = staleAfterMs / 1000;
  return prisma.$transaction(async (tx) => {
    // SKIP LOCKED: two sweeping workers never handle the same run, and a run being
    // claimed or recorded right now is left alone.
    const stale = await tx.$queryRaw<StaleRow[]>`
      SELECT r.id, r."workerId", j.id AS "jobId", j.attempts AS "jobAttempts",
             j.max_attempts AS "maxAttempts"
      FROM "Run" r
      LEFT JOIN graphile_worker.jobs j ON j.key = r.id::text
      WHERE r.status = 'running'
        AND coalesce(r."heartbeatAt", r."startedAt", r."createdAt") < now() - make_interval(secs => ${seconds}::float8)
      FOR UPDATE OF r SKIP LOCKED`;
    const swept: SweptRun[] = [];
    for (const row of stale) {
      const who = row.workerId ?? 'an unknown worker';
      const silence = `${who} stopped reporting (no heartbeat for over ${seconds} s)`;
      if (row.jobId !== null) await unlockJob(tx, String(row.jobId));
      if (row.jobId !== null && row.jobAttempts !== null && row.maxAttempts !== null && row.jobAttempts < row.maxAttempts) {
        const reason = `${silence} on attempt ${row.jobAttempts} of ${row.maxAttempts}; queued again`;
        await transitionRun(tx, row.id, 'queued', { status: ['running'] }, { workerId: null, heartbeatAt: null, progress: 0, progressMessage: reason, error: reason });
        swept.push({ runId: row.id, action: 'requeued', reason });
        continue;
      }
      const reason =
        row.jobId === null
          ? `${silence} and its queue job is gone`
          : `${silence} on its last attempt (${row.jobAttempts} of ${row.maxAttempts})`;
      const now = new Date();
      const locked = await lockRun(tx, row.id, { status: ['running'] });
      if (locked) {
        await transitionSteps(tx, locked, 'failed', { status: ['queued', 'running'] }, { finishedAt: now });
        await transitionRun(tx, row.id, 'failed', { status: ['running'] }, { error: reason, progressMessage: reason, finishedAt: now, workerId: null, heartbeatAt: null });
      }
      if (row.jobId !== null) await tx.$executeRaw`SELECT graphile_worker.permanently_fail_jobs(ARRAY[${row.jobId}]::bigint[], ${reason})`;
      swept.push({ runId: row.id, action: 'failed', reason });
    }
    return swept;
  });
}
