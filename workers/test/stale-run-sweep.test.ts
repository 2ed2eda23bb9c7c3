import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type PrismaClient, type TestDatabase } from '@distillery/db';
import { runMigrations } from 'graphile-worker';
import { sweepStaleRuns } from '../src/stale-run-sweep';

let db: TestDatabase;
let prisma: PrismaClient;
let projectId: string;
let modelId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  await runMigrations({ connectionString: db.url });
  const team = await prisma.team.create({ data: { name: 'Sweep', slug: 'sweep' } });
  projectId = (await prisma.project.create({ data: { teamId: team.id, name: 'p' } })).id;
  modelId = (
    await prisma.model.create({
      data: { teamId: team.id, name: 'm', format: 'onnx', sha256: 'a'.repeat(64), bytes: 1n, parameterCount: 1n, storagePath: 'x' },
    })
  ).id;
});
afterAll(async () => db?.drop());

/** A run some worker claimed (job locked, attempt counted) and then went silent `silentMs` ago. */
async function runningRun(workerId: string, jobAttempts: number, silentMs: number): Promise<string> {
  const run = await prisma.run.create({
    data: {
      projectId,
      baseModelId: modelId,
      recipe: { steps: [] },
      seed: 0,
      status: 'running',
      attempts: jobAttempts,
      workerId,
      heartbeatAt: new Date(Date.now() - silentMs),
      steps: { create: [{ index: 0, techniqueId: 'quantize.rtn-int8', params: {} }] },
    },
  });
  await prisma.$executeRaw`SELECT graphile_worker.add_job('execute-run', json_build_object('runId', ${run.id}::text), job_key := ${run.id}::text, max_attempts := 3)`;
  await prisma.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_at = now(), locked_by = ${workerId}, attempts = ${jobAttempts} WHERE key = ${run.id}`;
  return run.id;
}

const job = async (runId: string) =>
  (await prisma.$queryRaw<{ attempts: number; locked_by: string | null; last_error: string | null }[]>`
    SELECT attempts, locked_by, last_error FROM graphile_worker.jobs WHERE key = ${runId}`)[0];

describe('sweepStaleRuns', () => {
  it('requeues a silent run with attempts left, fails one on its last attempt, and leaves live runs alone', async () => {
    const retry = await runningRun('dead-a', 1, 60_000);
    const last = await runningRun('dead-b', 3, 60_000);
    const alive = await runningRun('alive', 1, 500);
    const swept = await sweepStaleRuns(prisma, 10_000);
    expect(swept.map((s) => [s.runId, s.action]).sort()).toEqual([[retry, 'requeued'], [last, 'failed']].sort());

    const r = await prisma.run.findUniqueOrThrow({ where: { id: retry } });
    expect(r.status).toBe('queued');
    expect(r.workerId).toBeNull();
    expect(r.error).toContain('dead-a');
    expect(await job(retry)).toMatchObject({ attempts: 1, locked_by: null }); // free for any worker, the dead attempt counted

    const l = await prisma.run.findUniqueOrThrow({ where: { id: last }, include: { steps: true } });
    expect(l.status).toBe('failed');
    expect(l.error).toMatch(/dead-b .*last attempt \(3 of 3\)/);
    expect(l.finishedAt).not.toBeNull();
    expect(l.steps.map((s) => s.status)).toEqual(['failed']);
    expect(await job(last)).toMatchObject({ attempts: 3, locked_by: null, last_error: l.error });

    expect((await prisma.run.findUniqueOrThrow({ where: { id: alive } })).status).toBe('running');
    expect((await job(alive))!.locked_by).toBe('alive');
    expect(await sweepStaleRuns(prisma, 10_000)).toEqual([]);
  });
});
