/**
 * The run lifecycle's events as a worker process emits them, received with LISTEN on a
 * separate connection: status and step changes in order, progress, the produced model,
 * and loss points announced and stored while the training step is still running.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunEventNotification, RUN_EVENTS_CHANNEL, type RunEvent } from '@distillery/db';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitForStatus, waitStarted, type Fixture, type WorkerProcess } from './run-fixtures';

let f: Fixture;
let worker: WorkerProcess;
let listener: pg.Client;
const events: RunEvent[] = [];

beforeAll(async () => {
  f = await createFixture();
  listener = new pg.Client({ connectionString: f.db.url });
  await listener.connect();
  listener.on('notification', (n) => {
    const e = n.payload === undefined ? null : parseRunEventNotification(n.payload);
    if (e) events.push(e);
  });
  await listener.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
  worker = spawnWorker(f);
  await waitStarted(worker);
});

afterAll(async () => {
  await stopWorker(worker);
  await listener?.end();
  await f?.close();
});

describe('run events from a worker', () => {
  it('announces each status and step change, the output model and live loss points', async () => {
    const baseId = await addTinyDecoder(f, 7);
    const steps = 400;
    const runId = await enqueueRun(f, baseId, { steps: [{ technique: 'finetune.recover', params: { steps, batchSize: 4, seqLen: 32, warmup: 2, lr: 1e-2 } }] });
    // Points stored while the step runs, not only in the final record.
    let storedWhileRunning = 0;
    for (;;) {
      const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true } });
      if (run.status !== 'queued' && run.status !== 'running') break;
      if (run.status === 'running') storedWhileRunning = Math.max(storedWhileRunning, await f.prisma.metric.count({ where: { runId, name: 'steps.0.train.loss' } }));
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitForStatus(f, runId, ['succeeded'], 1000);
    expect(storedWhileRunning).toBeGreaterThan(0);

    const mine = events.filter((e) => e.runId === runId);
    expect(mine.every((e) => e.projectId === f.projectId)).toBe(true);
    const statuses = mine.flatMap((e) => (e.kind === 'status' ? [`${e.from ?? '-'}>${e.to}`] : []));
    expect(statuses).toEqual(['->queued', 'queued>running', 'running>succeeded']);
    const stepMoves = mine.flatMap((e) => (e.kind === 'step' ? [`${e.index}:${e.status}`] : []));
    expect(stepMoves).toEqual(['0:running', '0:succeeded']);
    const succeededAt = mine.findIndex((e) => e.kind === 'status' && e.to === 'succeeded');
    // The run's final status comes last, after its steps, model and metrics.
    expect(succeededAt).toBe(mine.length - 1);
    const stepDone = mine.findIndex((e) => e.kind === 'step' && e.status === 'succeeded');
    const liveLoss = mine.slice(0, stepDone).flatMap((e) => (e.kind === 'metrics' ? e.points.filter((p) => p.name === 'steps.0.train.loss') : []));
    expect(liveLoss.length).toBeGreaterThan(0);
    // Live points are a subset of the recorded curve, steps increasing.
    const steps0 = liveLoss.map((p) => p.step!);
    expect([...steps0].sort((a, b) => a - b)).toEqual(steps0);
    expect(steps0.every((s) => s >= 1 && s <= steps)).toBe(true);
    expect(mine.some((e) => e.kind === 'progress' && e.progress > 0)).toBe(true);
    const model = mine.find((e) => e.kind === 'model');
    const output = await f.prisma.model.findFirstOrThrow({ where: { producedByRunId: runId } });
    expect(model).toMatchObject({ modelId: output.id, stepIndex: 0 });
    // The record keeps one point per training step, live duplicates replaced.
    const series = await f.prisma.metric.findMany({ where: { runId, name: 'steps.0.train.loss' }, orderBy: { step: 'asc' } });
    expect(series.length).toBeGreaterThan(liveLoss.length);
    expect(new Set(series.map((m) => m.step)).size).toBe(series.length);
  });
});
