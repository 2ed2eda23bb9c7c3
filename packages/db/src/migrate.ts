import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { defaultMigrationsDir } from './paths.ts';

export interface MigrationFile {
  /** Folder name, e.g. `20261124122852_init`; folders sort in apply order. */
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as `prisma migrate deploy` records it. */
  checksum: string;
}

export interface MigrateOptions {
  migrationsDir?: string;
  log?: (message: string) => void;
}

export interface MigrateResult {
  /** Names of the migrations this call applied, in order (empty when up to date). */
  applied: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

// The key `prisma migrate` itself locks, so this runner and the CLI also
// exclude each other. Advisory locks are scoped to one database.
const MIGRATION_LOCK_KEY = 72707369;

// The table exactly as the Prisma schema engine creates it, so the CLI
// (`migrate status`, `migrate deploy`) and this runner read each other's rows.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export function migrationChecksum(contents: string | Uint8Array): string {
  return createHash('sha256').update(contents).digest('hex');
}

/** Every `<dir>/<name>/migration.sql`, sorted by folder name. */
export async function readMigrations(migrationsDir: string = defaultMigrationsDir): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      // Checksum the raw bytes: decoding first could hide an edit (BOM, CRLF).
      const bytes = await readFile(path.join(migrationsDir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
    }),
  );
}

/**
 * Stops on anything a person must look at rather than guess around: a
 * migration the CLI recorded as failed, or a migration file edited after it
 * was applied.
 */
function checkHistory(files: MigrationFile[], rows: AppliedRow[]): void {
  const live = rows.filter((row) => row.rolled_back_at === null);
  const failed = live.filter((row) => row.finished_at === null);
  if (failed.length > 0) {
    const names = failed.map((row) => row.migration_name).join(', ');
    throw new MigrationError(
      `migration ${names} is recorded as failed in _prisma_migrations; fix the database by hand, ` +
        `then mark it with \`prisma migrate resolve --applied|--rolled-back\` before starting again`,
    );
  }
  const byName = new Map(files.map((file) => [file.name, file]));
  for (const row of live) {
    const file = byName.get(row.migration_name);
    if (file !== undefined && file.checksum !== row.checksum) {
      throw new MigrationError(
        `migration ${row.migration_name} was edited after it was applied ` +
          `(recorded checksum ${row.checksum}, file now ${file.checksum}); ` +
          `restore the file and put the change in a new migration`,
      );
    }
  }
}

/**
 * Applies pending migrations to the database at `url`. Each migration runs
 * whole in its own transaction together with its `_prisma_migrations` row, so
 * a failure leaves neither half a migration nor a record of it. Processes
 * starting together queue on an advisory lock and re-read the history once
 * they hold it, so each migration is applied exactly once.
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const files = await readMigrations(options.migrationsDir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      );
      checkHistory(files, rows);
      const done = new Set(
        rows.filter((row) => row.rolled_back_at === null && row.finished_at !== null).map((row) => row.migration_name),
      );
      const applied: string[] = [];
      for (const file of files) {
        if (done.has(file.name)) continue;
        await applyOne(client, file);
        applied.push(file.name);
        options.log?.(`applied migration ${file.name}`);
      }
      return { applied };
    } finally {
      // Closing the session releases the lock too, so a failed unlock (say, a
      // dropped connection) must not hide the error that got us here.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

async function applyOne(client: pg.Client, file: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // No parameters: pg then uses the simple query protocol, which runs a
    // script of many statements as sent.
    await client.query(file.sql);
    // now() is the transaction's start, clock_timestamp() the present.
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, migration_name, logs, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, NULL, now(), clock_timestamp(), 1)`,
      [randomUUID(), file.checksum, file.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${file.name} failed and was rolled back: ${reason}`, { cause: error });
  }
}
