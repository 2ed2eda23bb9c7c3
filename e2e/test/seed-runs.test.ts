/**
 * Seeded runs against a real database: their final figures are there without the test
 * refreshing them, tagged with the suite they name, as the run lifecycle leaves them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { seedFinishedRuns } from '../src/seed-runs';

let db: TestDatabase;
let projectId: string;
let baseModelId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const team = await db.prisma.team.create({ data: { name: 'seeders', slug: 'seeders' } });
  const project = await db.prisma.project.create({ data: { teamId: team.id, name: 'seeded' } });
  const model = await db.prisma.model.create({
    data: { teamId: team.id, projectId: project.id, name: 'base', format: 'onnx', status: 'ready', sha256: 'a'.repeat(64), bytes: 10n, parameterCount: 5n, storagePath: '/nowhere' },
  });
  projectId = project.id;
  baseModelId = model.id;
}, 120_000);

afterAll(async () => {
  await db?.drop();
});

describe('seeded runs', () => {
  it('carry their final figures, with the suite they name', async () => {
    const ids = await seedFinishedRuns(db.prisma, { projectId, baseModelId, count: 4, suite: { id: 'distillery-standard', version: 1 } });
    const rows = await db.prisma.runFinalMetric.findMany({ where: { runId: { in: ids }, name: 'perplexity' } });
    expect(rows.map((r) => r.runId).sort()).toEqual([...ids].sort());
    const metrics = await db.prisma.metric.findMany({ where: { runId: ids[0]!, name: 'perplexity' } });
    expect(rows.find((r) => r.runId === ids[0])!.value).toBe(metrics[0]!.value);
    expect(new Set(rows.map((r) => `${r.suiteId}@${r.suiteVersion}`))).toEqual(new Set(['distillery-standard@1']));
  });

  it('leave the suite empty when none is named', async () => {
    const ids = await seedFinishedRuns(db.prisma, { projectId, baseModelId, count: 2, seed: 2 });
    const rows = await db.prisma.runFinalMetric.findMany({ where: { runId: { in: ids }, name: 'size.bytes' } });
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.suiteId === null)).toBe(true);
  });
});
