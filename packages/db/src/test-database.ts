import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPrismaClient } from './client.ts';
import type { PrismaClient } from './generated/client.ts';
import { migrate } from './migrate.ts';

export interface TestDatabase {
  /** Unique name, so parallel test files and runs never share data. */
  name: string;
  url: string;
  prisma: PrismaClient;
  /** Disconnects the client and drops the database. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Any database on the server to connect to for CREATE/DROP DATABASE. */
  serverUrl?: string;
  migrationsDir?: string;
  /** Skip migrations, for tests of the migration runner itself. */
  migrate?: boolean;
}

const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, migrated database on TEST_DATABASE_URL's server (default: local
 * Postgres on 5432). Call `drop()` when done, typically in afterAll.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = options.serverUrl ?? process.env.TEST_DATABASE_URL ?? DEFAULT_SERVER_URL;
  // Postgres truncates identifiers at 63 bytes; this stays well below.
  const name = `distillery_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, (client) => `CREATE DATABASE ${client.escapeIdentifier(name)}`);

  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();

  const dropDatabase = () =>
    // FORCE ends connections a failed test may have left open (Postgres 13+).
    adminQuery(serverUrl, (client) => `DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);

  try {
    if (options.migrate !== false) await migrate(databaseUrl, { migrationsDir: options.migrationsDir });
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  const prisma = createPrismaClient(databaseUrl);
  return {
    name,
    url: databaseUrl,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await dropDatabase();
    },
  };
}

async function adminQuery(serverUrl: string, sql: (client: pg.Client) => string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql(client));
  } finally {
    await client.end();
  }
}
