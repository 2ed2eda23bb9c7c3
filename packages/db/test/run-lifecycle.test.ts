import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canTransitionRun,
  createRun,
  createTestDatabase,
  eventPayloads,
  IllegalTransitionError,
  parseRunEventNotification,
  recordMetricPoints,
  reportProgress,
  requestCancel,
  RUN_EVENTS_CHANNEL,
  transitionRun,
  transitionSteps,
  type PrismaClient,
  type RunEvent,
  type RunStatus,
  type TestDatabase,
} from '../src/index.ts';

let db: TestDatabase;
let prisma: PrismaClient;
let listener: pg.Client;
const events: RunEvent[] = [];
let projectId: string;
let baseModelId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (n) => {
    const e = n.payload === undefined ? null : parseRunEventNotification(n.payload);
    if (e) events.push(e);
  });
  await listener.query(`LISTEN ${RUN_EVENTS_CHANNEL}`);
  const team = await prisma.team.create({ data: { name: 'Lifecycle', slug: 'lifecycle' } });
  projectId = (await prisma.project.create({ data: { teamId: team.id, name: 'p' } })).id;
  baseModelId = (
    await prisma.model.create({
      data: { teamId: team.id, name: 'base', format: 'onnx', sha256: 'a'.repeat(64), bytes: 1n, parameterCount: 1n, storagePath: 'x' },
    })
  ).id;
});
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

async function until<T>(find: () => T | undefined): Promise<T> {
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const newRun = () =>
  prisma.$transaction((tx) =>
    createRun(tx, { data: { projectId, baseModelId, recipe: {}, seed: 1 }, steps: [{ techniqueId: 'a', params: {} }, { techniqueId: 'b', params: {} }] }),
  );

describe('run transitions', () => {
  it('matches a reference list of the legal moves', () => {
    const all: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled'];
    const legal = new Set(['queued>running', 'queued>canceled', 'queued>failed', 'running>running', 'running>queued', 'running>succeeded', 'running>failed', 'running>canceled']);
    for (const from of all) for (const to of all) expect(canTransitionRun(from, to), `${from}>${to}`).toBe(legal.has(`${from}>${to}`));
  });

  it('announces creation, each status change and each step change, after commit', async () => {
    const run = await newRun();
    await until(() => events.find((e) => e.runId === run.id && e.kind === 'status' && e.to === 'queued'));
    await prisma.$transaction(async (tx) => {
      await transitionRun(tx, run.id, 'running', { status: ['queued'] }, { workerId: 'w1' });
      await transitionSteps(tx, run, 'running', { status: ['queued'], index: { lte: 0 } });
    });
    const step = await until(() => events.find((e) => e.runId === run.id && e.kind === 'step'));
    expect(step).toMatchObject({ projectId, index: 0, status: 'running' });
    expect(events.find((e) => e.runId === run.id && e.kind === 'status' && e.to === 'running')).toMatchObject({ from: 'queued' });
    expect((await prisma.runStep.findMany({ where: { runId: run.id }, orderBy: { index: 'asc' } })).map((s) => s.status)).toEqual(['running', 'queued']);
  });

  it('changes nothing and announces nothing when the expectation no longer holds', async () => {
    const run = await newRun();
    await prisma.$transaction((tx) => transitionRun(tx, run.id, 'running', { status: ['queued'] }, { workerId: 'w1' }));
    const stolen = await prisma.$transaction((tx) => transitionRun(tx, run.id, 'succeeded', { status: ['running'], workerId: 'w2' }));
    expect(stolen).toBeNull();
    expect((await prisma.run.findUniqueOrThrow({ where: { id: run.id } })).status).toBe('running');
  });

  it('refuses an illegal move naming both states, and a rolled-back change sends no event', async () => {
    const run = await newRun();
    await prisma.$transaction((tx) => transitionRun(tx, run.id, 'canceled', { status: ['queued'] }));
    const attempt = prisma.$transaction((tx) => transitionRun(tx, run.id, 'running', { status: ['canceled'] }));
    await expect(attempt).rejects.toThrow(IllegalTransitionError);
    await expect(attempt).rejects.toThrow(`run ${run.id} cannot go from canceled to running`);
    await expect(prisma.$transaction((tx) => transitionSteps(tx, run, 'running', { status: ['succeeded'] }))).rejects.toThrow('cannot go from succeeded to running');
    await until(() => events.find((e) => e.runId === run.id && e.kind === 'status' && e.to === 'canceled'));
    expect(events.filter((e) => e.runId === run.id && e.kind === 'status' && e.to === 'running')).toEqual([]);
  });

  it('writes and announces progress only for the owning worker, and cancel requests only for running runs', async () => {
    const run = await newRun();
    expect(await prisma.$transaction((tx) => requestCancel(tx, run.id))).toBeNull();
    await prisma.$transaction((tx) => transitionRun(tx, run.id, 'running', { status: ['queued'] }, { workerId: 'w1' }));
    expect(await reportProgress(prisma, run.id, 'w2', 0.5, 'not mine')).toBe(false);
    expect(await reportProgress(prisma, run.id, 'w1', 0.25, 'step 1/2')).toBe(true);
    const p = await until(() => events.find((e) => e.runId === run.id && e.kind === 'progress'));
    expect(p).toMatchObject({ progress: 0.25, message: 'step 1/2', projectId });
    expect(Number.isNaN(Date.parse(p.at))).toBe(false);
    expect((await prisma.$transaction((tx) => requestCancel(tx, run.id)))?.cancelRequested).toBe(true);
    await until(() => events.find((e) => e.runId === run.id && e.kind === 'cancel-requested'));
  });

  it('splits a large batch of metric points over several notifications, every point once', async () => {
    const run = await newRun();
    const points = Array.from({ length: 500 }, (_, i) => ({ name: 'steps.0.train.loss', value: 3 - i / 1000, step: i + 1 }));
    expect(eventPayloads({ kind: 'metrics', runId: run.id, projectId, points: points.map((p) => ({ ...p, runStepId: null })) }).length).toBeGreaterThan(1);
    await recordMetricPoints(prisma, run, points);
    const received = () => events.filter((e) => e.runId === run.id && e.kind === 'metrics').flatMap((e) => (e.kind === 'metrics' ? e.points : []));
    await until(() => (received().length >= 500 ? true : undefined));
    expect(received().map((p) => p.step)).toEqual(points.map((p) => p.step));
    expect(await prisma.metric.count({ where: { runId: run.id } })).toBe(500);
  });
});
