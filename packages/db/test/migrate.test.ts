import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, migrate, MigrationError, readMigrations, type TestDatabase } from '../src/index.ts';
import { defaultMigrationsDir } from '../src/paths.ts';
import { query } from './sql-query';

const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A database with no tables, so the runner under test does all the work. */
async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: false });
  databases.push(db);
  return db;
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  logs: string | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name');

describe('migrate', () => {
  it('applies every migration to a fresh database and creates all tables', async () => {
    const db = await emptyDatabase();
    const files = await readMigrations();
    expect(files.length).toBeGreaterThan(0);

    const result = await migrate(db.url);
    expect(result.applied).toEqual(files.map((file) => file.name));

    const tables = await query<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((row) => row.table_name)).toEqual(
      [
        'ApiToken', 'Artifact', 'Dataset', 'Membership', 'Metric', 'Model', 'Project', 'Run', 'RunStep', 'Team',
        'Upload', 'User', '_prisma_migrations',
        'Invitation', 'Session', 'SignInThrottle',
        'Recipe', 'Sweep', 'AuditEvent', 'RateLimitWindow', 'RunFinalMetric', 'RunEventLog',
      ].sort(),
    );
  });

  it('records each migration as `prisma migrate deploy` does, checksum = sha256 of the file', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    const files = await readMigrations();
    const rows = await migrationRows(db.url);
    expect(rows.map((row) => row.migration_name)).toEqual(files.map((file) => file.name));
    for (const row of rows) {
      const bytes = await readFile(path.join(defaultMigrationsDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.finished_at).not.toBeNull();
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  it('is a no-op when run again', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    const before = await migrationRows(db.url);
    const again = await migrate(db.url);
    expect(again.applied).toEqual([]);
    expect(await migrationRows(db.url)).toEqual(before);
  });

  it('applies each migration exactly once when several runners start together', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url), migrate(db.url)]);
    const files = await readMigrations();
    // Exactly one runner did the work; the others found it done.
    expect(results.flatMap((result) => result.applied).sort()).toEqual(files.map((file) => file.name).sort());
    expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
    expect((await migrationRows(db.url)).map((row) => row.migration_name)).toEqual(files.map((file) => file.name));
  });

  it('refuses a migration edited after it was applied, naming it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-migrations-'));
    tempDirs.push(dir);
    await cp(defaultMigrationsDir, dir, { recursive: true });
    const db = await emptyDatabase();
    await migrate(db.url, { migrationsDir: dir });

    const [first] = await readMigrations(dir);
    await appendFile(path.join(dir, first!.name, 'migration.sql'), '\n-- an afterthought\n');

    const attempt = migrate(db.url, { migrationsDir: dir });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(attempt).rejects.toThrow(new RegExp(`migration ${first!.name} was edited after it was applied`));
  });

  it('refuses to continue past a migration recorded as failed', async () => {
    const db = await emptyDatabase();
    await migrate(db.url);
    // What `prisma migrate deploy` leaves behind when a migration fails.
    await query(
      db.url,
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000000', repeat('0', 64), '29990101000000_broken', now(), 0)`,
    );
    await expect(migrate(db.url)).rejects.toThrow(/migration 29990101000000_broken is recorded as failed/);
  });

  it('rolls back a failing migration entirely and records nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-migrations-'));
    tempDirs.push(dir);
    await cp(defaultMigrationsDir, dir, { recursive: true });
    const broken = path.join(dir, '29990101000000_broken');
    await cp(path.join(defaultMigrationsDir, (await readMigrations())[0]!.name), broken, { recursive: true });
    await appendFile(path.join(broken, 'migration.sql'), '\nSELECT no_such_function();\n');
    const db = await emptyDatabase();

    // The copy re-creates existing tables, so it fails; nothing of it may stay.
    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(/migration 29990101000000_broken failed/);
    const names = (await migrationRows(db.url)).map((row) => row.migration_name);
    expect(names).not.toContain('29990101000000_broken');
  });
});
