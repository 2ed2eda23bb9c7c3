import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type PrismaClient, type TestDatabase } from '../src/index.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = db.prisma;
});
afterAll(async () => db?.drop());

/** A team with one owner, one project and one imported base model. */
async function seedTeam(slug: string) {
  const team = await prisma.team.create({ data: { name: `Team ${slug}`, slug } });
  const user = await prisma.user.create({
    data: { email: `${slug}@example.com`, passwordHash: 'scrypt$not-a-real-hash' },
  });
  await prisma.membership.create({ data: { userId: user.id, teamId: team.id, role: 'owner' } });
  const project = await prisma.project.create({ data: { teamId: team.id, name: 'tiny-llama' } });
  const base = await prisma.model.create({
    data: {
      teamId: team.id,
      name: 'reference-5m',
      format: 'onnx',
      sha256: sha256('base'),
      bytes: 21_000_000n,
      parameterCount: 5_300_000n,
      storagePath: `sha256/${sha256('base')}`,
      config: { dim: 256, layers: 4 },
    },
  });
  return { team, user, project, base };
}

/** A finished run of `base` that produced a 4-bit model, with steps, metrics and an artifact. */
async function recordRun(seed: Awaited<ReturnType<typeof seedTeam>>) {
  const run = await prisma.run.create({
    data: {
      projectId: seed.project.id,
      baseModelId: seed.base.id,
      createdById: seed.user.id,
      recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 4, blockSize: 32 } }] },
      seed: 1234,
      status: 'succeeded',
      progress: 1,
      codeVersion: 'test',
      attempts: 1,
      startedAt: new Date(),
      finishedAt: new Date(),
      steps: { create: [{ index: 0, techniqueId: 'quantize.rtn', params: { bits: 4 }, status: 'succeeded' }] },
    },
    include: { steps: true },
  });
  const output = await prisma.model.create({
    data: {
      teamId: seed.team.id,
      projectId: seed.project.id,
      name: 'reference-5m-int4',
      format: 'onnx',
      sha256: sha256('int4'),
      bytes: 3_000_000n,
      parameterCount: 5_300_000n,
      storagePath: `sha256/${sha256('int4')}`,
      parentId: seed.base.id,
      producedByRunId: run.id,
    },
  });
  await prisma.runStep.update({ where: { id: run.steps[0]!.id }, data: { outputModelId: output.id } });
  await prisma.metric.createMany({
    data: [
      { runId: run.id, name: 'perplexity', value: 12.5 },
      { runId: run.id, runStepId: run.steps[0]!.id, name: 'loss', value: 3.1, step: 0 },
      { runId: run.id, runStepId: run.steps[0]!.id, name: 'loss', value: 2.7, step: 1 },
    ],
  });
  await prisma.artifact.create({
    data: {
      teamId: seed.team.id,
      runId: run.id,
      kind: 'model',
      sha256: output.sha256,
      bytes: output.bytes,
      storagePath: output.storagePath,
      modelId: output.id,
    },
  });
  return { run, output };
}

describe('generated client round trip', () => {
  it('stores a team, its members, a project, models with lineage and a run with metrics', async () => {
    const seed = await seedTeam('acme');
    const { run, output } = await recordRun(seed);

    const membership = await prisma.membership.findUniqueOrThrow({
      where: { userId_teamId: { userId: seed.user.id, teamId: seed.team.id } },
    });
    expect(membership.role).toBe('owner');

    const lineage = await prisma.model.findUniqueOrThrow({
      where: { id: output.id },
      include: { parent: true, producedByRun: { include: { baseModel: true } } },
    });
    expect(lineage.parent?.id).toBe(seed.base.id);
    expect(lineage.producedByRun?.baseModel.id).toBe(seed.base.id);
    expect(lineage.bytes).toBe(3_000_000n);

    const loss = await prisma.metric.findMany({ where: { runId: run.id, name: 'loss' }, orderBy: { step: 'asc' } });
    expect(loss.map((metric) => [metric.step, metric.value])).toEqual([
      [0, 3.1],
      [1, 2.7],
    ]);

    const stored = await prisma.run.findUniqueOrThrow({ where: { id: run.id }, include: { outputModels: true } });
    expect(stored.recipe).toEqual({ steps: [{ technique: 'quantize.rtn', params: { bits: 4, blockSize: 32 } }] });
    expect(stored.outputModels.map((model) => model.id)).toEqual([output.id]);

    await expect(
      prisma.project.create({ data: { teamId: seed.team.id, name: 'tiny-llama' } }),
    ).rejects.toMatchObject({ code: 'P2002' });
  });

  it('never deletes runs or lineage by deleting a model, and cascades a run to its records', async () => {
    const seed = await seedTeam('globex');
    const { run, output } = await recordRun(seed);

    // The base model has a run and a child model pointing at it.
    await expect(prisma.model.delete({ where: { id: seed.base.id } })).rejects.toMatchObject({ code: 'P2003' });
    // The run produced a model that still exists.
    await expect(prisma.run.delete({ where: { id: run.id } })).rejects.toMatchObject({ code: 'P2003' });
    expect(await prisma.run.count({ where: { id: run.id } })).toBe(1);

    // Deleting the output model only clears the convenience links to it.
    await prisma.model.delete({ where: { id: output.id } });
    const step = await prisma.runStep.findFirstOrThrow({ where: { runId: run.id } });
    expect(step.outputModelId).toBeNull();
    expect((await prisma.artifact.findFirstOrThrow({ where: { runId: run.id } })).modelId).toBeNull();

    await prisma.run.delete({ where: { id: run.id } });
    expect(await prisma.runStep.count({ where: { runId: run.id } })).toBe(0);
    expect(await prisma.metric.count({ where: { runId: run.id } })).toBe(0);
    expect(await prisma.artifact.count({ where: { runId: run.id } })).toBe(0);
    expect(await prisma.model.count({ where: { id: seed.base.id } })).toBe(1);
  });

  it('keeps runs when their creator is deleted, and deletes a whole team in one go', async () => {
    const seed = await seedTeam('initech');
    const { run } = await recordRun(seed);
    await prisma.apiToken.create({
      data: { userId: seed.user.id, name: 'notebook', tokenHash: sha256('secret'), prefix: 'dst_ab12' },
    });

    await prisma.user.delete({ where: { id: seed.user.id } });
    expect((await prisma.run.findUniqueOrThrow({ where: { id: run.id } })).createdById).toBeNull();
    expect(await prisma.membership.count({ where: { teamId: seed.team.id } })).toBe(0);
    expect(await prisma.apiToken.count({ where: { userId: seed.user.id } })).toBe(0);

    // Lineage is checked at the end of the statement, so a team (projects,
    // models, runs and all their records) still goes at once.
    await prisma.team.delete({ where: { id: seed.team.id } });
    expect(await prisma.project.count({ where: { teamId: seed.team.id } })).toBe(0);
    expect(await prisma.model.count({ where: { teamId: seed.team.id } })).toBe(0);
    expect(await prisma.run.count({ where: { id: run.id } })).toBe(0);
    expect(await prisma.metric.count({ where: { runId: run.id } })).toBe(0);
  });
});

describe('connection settings', () => {
  it('runs every query without JIT compilation (it costs more than our short queries take)', async () => {
    const rows = await prisma.$queryRaw<{ jit: string }[]>`SELECT current_setting('jit') AS jit`;
    expect(rows).toEqual([{ jit: 'off' }]);
  });
});
