/**
 * The whole platform for an end-to-end test: a fresh migrated database
 * (createTestDatabase), the API in this process on an ephemeral port, one worker
 * process, and optionally the dashboard (`next start` on an ephemeral port over the
 * shared production build). `close()` stops them in reverse order and drops the database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApi, type ApiConfig, type RunningApi } from '@distillery/api';
import { LocalArtifactStore } from '@distillery/artifacts';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { pino } from 'pino';
import { ensureWebBuild, freePort, startWebProcess, startWorkerProcess, type Service } from '@distillery/services';

export interface Stack {
  db: TestDatabase;
  api: RunningApi;
  apiUrl: string;
  graphqlUrl: string;
  /** Set when started with `web: true`. */
  webUrl?: string;
  worker: Service;
  web?: Service;
  artifactsDir: string;
  close(): Promise<void>;
}

export interface StackOptions {
  web?: boolean;
  /** Echo the worker's and dashboard's output to stderr (debugging). */
  echo?: boolean;
  /** Overrides of the API's configuration (e.g. tighter sign-in limits). */
  apiConfig?: Partial<ApiConfig>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const echo = opts.echo || process.env.E2E_ECHO === '1' ? process.stderr : undefined;
  // The build (if one is needed) overlaps with the database, API and worker start.
  const build = opts.web ? ensureWebBuild() : Promise.resolve(null);
  build.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
  const dir = await mkdtemp(path.join(tmpdir(), 'distillery-e2e-'));
  const artifactsDir = path.join(dir, 'artifacts');
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const api = await createApi({
      prisma: db.prisma,
      store: new LocalArtifactStore(artifactsDir),
      databaseUrl: db.url,
      port: 0,
      production: false,
      logger: pino({ level: 'silent' }),
      env: {},
      config: { importRoot: path.join(dir, 'imports'), ...opts.apiConfig },
    });
    cleanups.push(() => api.close());
    const worker = await startWorkerProcess({ databaseUrl: db.url, artifactsDir, threads: 1, logLevel: 'info', echo, extraEnv: { WORKER_POLL_INTERVAL_MS: '500' } });
    cleanups.push(() => worker.stop('SIGTERM'));
    let web: Service | undefined;
    let webUrl: string | undefined;
    if (opts.web) {
      await build;
      const port = await freePort();
      web = await startWebProcess({ port, apiUrl: api.url, echo });
      cleanups.push(() => web!.stop('SIGTERM', 10_000));
      webUrl = `http://127.0.0.1:${port}`;
    }
    return { db, api, apiUrl: api.url, graphqlUrl: api.graphqlUrl, webUrl, worker, web, artifactsDir, close };
  } catch (e) {
    await close();
    throw e;
  }
}
