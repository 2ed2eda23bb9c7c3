/**
 * The platform as users run it, for clients that need every API feature (graphql-ws
 * subscriptions included): a fresh database, the API as its own process on a free port and
 * one worker process. `close()` stops them and drops the database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { freePort, startApiProcess, startWorkerProcess, type Service } from '@distillery/services';

export interface ProcessStack {
  db: TestDatabase;
  apiUrl: string;
  graphqlUrl: string;
  close(): Promise<void>;
}

export async function startProcessStack(): Promise<ProcessStack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'distillery-processes-'));
  const services: Service[] = [];
  let db: TestDatabase | undefined;
  const close = async () => {
    for (const s of services.reverse()) await s.stop('SIGTERM', 20_000).catch(() => {});
    await db?.drop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    db = await createTestDatabase();
    const artifactsDir = path.join(dir, 'artifacts');
    const port = await freePort();
    services.push(await startApiProcess({ port, env: { DATABASE_URL: db.url, ARTIFACTS_DIR: artifactsDir, MODEL_IMPORT_ROOT: path.join(dir, 'imports'), LOG_LEVEL: 'warn' } }));
    services.push(await startWorkerProcess({ databaseUrl: db.url, artifactsDir, threads: 1, logLevel: 'info', extraEnv: { WORKER_POLL_INTERVAL_MS: '300' } }));
    const apiUrl = `http://127.0.0.1:${port}`;
    return { db, apiUrl, graphqlUrl: `${apiUrl}/graphql`, close };
  } catch (error) {
    await close();
    throw error;
  }
}
