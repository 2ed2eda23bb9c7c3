/**
 * The migration that turns tokenizer hashes inside Model.config into artifact rows with
 * foreign keys: a database migrated up to the step before it, with models and a run as
 * the old code wrote them, then migrated to the end.
 */
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, migrate, type TestDatabase } from '../src/index.ts';
import { repoRoot } from '../src/paths.ts';

const MIGRATION = '20261130121500_artifact_references';
const all = path.join(repoRoot, 'prisma', 'migrations');
let db: TestDatabase | undefined;
let earlier: string | undefined;

afterAll(async () => {
  await db?.drop();
  if (earlier) await rm(earlier, { recursive: true, force: true });
});

describe(`migration ${MIGRATION}`, () => {
  it('moves tokenizer hashes from Model.config into tokenizer artifacts and names each run calibration artifact', async () => {
    earlier = await mkdtemp(path.join(tmpdir(), 'distillery-migrations-'));
    for (const name of await readdir(all)) if (name < MIGRATION) await cp(path.join(all, name), path.join(earlier, name), { recursive: true });
    db = await createTestDatabase({ migrationsDir: earlier });
    const q = (sql: string, ...values: unknown[]) => db!.prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...values);
    const tok = 'a'.repeat(64);
    const [team] = await q(`INSERT INTO "Team" (id, name, slug, "updatedAt") VALUES (gen_random_uuid(), 'T', 't', now()) RETURNING id`);
    const [project] = await q(`INSERT INTO "Project" (id, "teamId", name, "updatedAt") VALUES (gen_random_uuid(), $1::uuid, 'p', now()) RETURNING id`, team!.id);
    await q(`INSERT INTO "Upload" (id, "teamId", sha256, bytes) VALUES (gen_random_uuid(), $1::uuid, $2, 1234)`, team!.id, tok);
    const model = async (name: string, config: unknown) =>
      (
        await q(
          `INSERT INTO "Model" (id, "teamId", "projectId", name, format, sha256, bytes, "parameterCount", "storagePath", config)
           VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, 'onnx', $4, 10, 1, 'x', $5::jsonb) RETURNING id`,
          team!.id, project!.id, name, name.padEnd(64, '0'), config === null ? null : JSON.stringify(config),
        )
      )[0]!.id as string;
    const a = await model('a', { tokenizerSha256: tok });
    const b = await model('b', { tokenizerSha256: tok, decoderConfig: { hidden_size: 32 } });
    const c = await model('c', null);
    const [run] = await q(`INSERT INTO "Run" (id, "projectId", "baseModelId", recipe, seed) VALUES (gen_random_uuid(), $1::uuid, $2::uuid, '{}', 0) RETURNING id`, project!.id, a);
    await q(`INSERT INTO "Artifact" (id, "runId", kind, sha256, bytes, "storagePath") VALUES (gen_random_uuid(), $1::uuid, 'calibration', $2, 77, 'cal')`, run!.id, 'c'.repeat(64));

    await migrate(db.url, { migrationsDir: all });

    const tokenizers = await db.prisma.artifact.findMany({ where: { kind: 'tokenizer' } });
    expect(tokenizers).toHaveLength(1);
    expect(tokenizers[0]).toMatchObject({ teamId: team!.id, runId: null, sha256: tok, bytes: 1234n });
    const models = await db.prisma.model.findMany({ orderBy: { name: 'asc' } });
    expect(models.map((m) => [m.name, m.tokenizerId, m.config])).toEqual([
      ['a', tokenizers[0]!.id, null],
      ['b', tokenizers[0]!.id, { decoderConfig: { hidden_size: 32 } }],
      ['c', null, null],
    ]);
    const calibration = await db.prisma.artifact.findFirstOrThrow({ where: { kind: 'calibration' } });
    expect(calibration.teamId).toBe(team!.id);
    expect((await db.prisma.run.findUniqueOrThrow({ where: { id: run!.id as string } })).calibrationId).toBe(calibration.id);
    // The references are enforced: a tokenizer artifact in use cannot be deleted.
    await expect(db.prisma.artifact.delete({ where: { id: tokenizers[0]!.id } })).rejects.toThrow();
  });
});
