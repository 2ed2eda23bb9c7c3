/**
 * `npm start`: the API from the environment. Uses DATABASE_URL, or else an embedded
 * Postgres in `.data/` (packages/db resolveDatabase), migrated before serving.
 */
import { artifactStoreConfigFromEnv, createArtifactStore, describeArtifactStore } from '@distillery/artifacts';
import { createPrismaClient, resolveDatabase } from '@distillery/db';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { createApi } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  // A stray rejection or exception is logged, not fatal: the server keeps answering.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));

  const db = await resolveDatabase({ databaseUrl: config.databaseUrl, log: (m) => log.info(m) });
  const prisma = createPrismaClient(db.url);
  const storeConfig = artifactStoreConfigFromEnv();
  const store = createArtifactStore(storeConfig);
  log.info(`artifacts: ${describeArtifactStore(storeConfig)}`);
  const api = await createApi({ prisma, store, databaseUrl: db.url, config, logger: log });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await api.close().catch((err) => log.error({ err }, 'close failed'));
    await prisma.$disconnect().catch(() => {});
    await db.stop().catch((err) => log.error({ err }, 'database stop failed'));
    process.exitCode = 0;
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
