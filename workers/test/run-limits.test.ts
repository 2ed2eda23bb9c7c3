/**
 * A run's limits enforced by a real worker process on a real Postgres: a cancel requested
 * while a distillation trains (as the API's cancelRun does) stops it long before its
 * steps are done, and a run past RUN_TIME_LIMIT_S fails with an error that says so, while
 * the worker keeps taking runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitFor, waitForStatus, waitStarted, type Fixture, type WorkerProcess } from './run-fixtures';

let f: Fixture;
const spawned: WorkerProcess[] = [];

beforeAll(async () => {
  f = await createFixture();
});
afterAll(async () => {
  await Promise.all(spawned.map((w) => stopWorker(w)));
  await f?.close();
});

async function startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const w = spawnWorker(f, { WORKER_THREADS: '1', ...env });
  spawned.push(w);
  await waitStarted(w);
  return w;
}

const LONG_KD = { technique: 'distill.kd', params: { student: { layers: 1 }, steps: 50_000, batchSize: 2, seqLen: 32 } };

describe('run limits', () => {
  it('cancels a run mid-training within a few steps', async () => {
    const worker = await startWorker();
    const baseId = await addTinyDecoder(f, 11);
    const runId = await enqueueRun(f, baseId, { steps: [LONG_KD] });
    let atCancel = 0;
    await waitFor(
      async () => {
        const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId } });
        atCancel = Number(/step (\d+)\/5000/.exec(run.progressMessage ?? '')?.[1] ?? 0);
        return atCancel >= 2;
      },
      90_000,
      'training to report steps',
    );
    await f.prisma.run.update({ where: { id: runId }, data: { cancelRequested: true } });
    await waitForStatus(f, runId, ['canceled', 'failed', 'succeeded'], 30_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true, outputModels: true } });
    expect(run.status).toBe('canceled');
    expect(run.steps.map((s) => s.status)).toEqual(['canceled']);
    expect(run.outputModels).toHaveLength(0);
    expect(await f.prisma.metric.count({ where: { runId } })).toBe(0);
    expect(worker.output()).toContain('"run canceled"');
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('fails a run past RUN_TIME_LIMIT_S with a clear error and keeps working', async () => {
    const worker = await startWorker({ RUN_TIME_LIMIT_S: '10' });
    const baseId = await addTinyDecoder(f, 12);
    const runId = await enqueueRun(f, baseId, { steps: [LONG_KD] });
    await waitForStatus(f, runId, ['failed', 'succeeded', 'canceled'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true, outputModels: true } });
    expect(run.status).toBe('failed');
    expect(run.error).toBe('the run exceeded its time limit of 10 s (RUN_TIME_LIMIT_S) and was stopped at step 1 of 1');
    expect(run.attempts).toBe(1);
    expect(run.steps.map((s) => s.status)).toEqual(['failed']);
    expect(run.outputModels).toHaveLength(0);
    // Not retried: the job is gone.
    expect(await f.prisma.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs WHERE key = ${runId}`).toHaveLength(0);

    // The same worker still takes and finishes runs.
    const quick = await enqueueRun(f, baseId, { steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 256 } });
    await waitForStatus(f, quick, ['succeeded', 'failed'], 60_000);
    const quickRun = await f.prisma.run.findUniqueOrThrow({ where: { id: quick } });
    expect(quickRun.status, quickRun.error ?? '').toBe('succeeded');
    expect(worker.child.exitCode).toBeNull();
  });

  it('fails a step that changes nothing, naming the technique, without retrying', async () => {
    const worker = spawned.at(-1)!;
    const baseId = await addTinyDecoder(f, 13);
    const runId = await enqueueRun(f, baseId, {
      steps: [
        { technique: 'quantize.rtn-int8', params: { skip: ['lm_head'] } },
        { technique: 'quantize.rtn-int8', params: { skip: ['/model/', 'lm_head'] } },
      ],
      eval: { maxTokens: 256 },
    });
    await waitForStatus(f, runId, ['failed', 'succeeded'], 60_000);
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } }, outputModels: true } });
    expect(run.status).toBe('failed');
    expect(run.attempts).toBe(1);
    expect(run.error).toMatch(
        // The kit refuses before the worker's same-output check would; either way the step names why nothing changed.
        /^quantize\.rtn-int8: (no linear layer matched the selection; found \d+: .*named in skip|the output model has the same graph and the same weights as its input)/,
    );
    expect(run.steps.map((s) => s.status)).toEqual(['failed', 'failed']);
    expect(run.outputModels).toHaveLength(0);
    expect(worker.child.exitCode).toBeNull();
  });
});
