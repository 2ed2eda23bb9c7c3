/**
 * The worker process: `node --import tsx workers/src/main.ts`. Settings come from the
 * environment (worker-config.ts). SIGINT/SIGTERM stop it gracefully; a second signal is
 * logged and ignored, because forcing threads down while ORT runs aborts the process
 * (SIGKILL remains, and the stale-run sweep of the surviving workers recovers from it).
 */
import path from 'node:path';
import { resolveDatabase } from '@distillery/db';
import { artifactStoreConfigFromEnv, createArtifactStore, describeArtifactStore } from '@distillery/artifacts';
import { pino } from 'pino';
import { startWorker } from './start-worker';
import { workerConfigFromEnv } from './worker-config';

const config = workerConfigFromEnv();
const storeConfig = artifactStoreConfigFromEnv();
const log = pino({ level: config.logLevel, base: { pid: process.pid, role: 'worker' } });

// A library promise rejected while the database is away (graphile-worker failing a job during
// a restart) is logged, not fatal: the run's heartbeat goes stale and the sweep retries it.
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));

async function main(): Promise<void> {
  log.info(`artifacts: ${describeArtifactStore(storeConfig)}`);
  const db = await resolveDatabase({ databaseUrl: config.databaseUrl, log: (m) => log.info(m) });
  const worker = await startWorker({
    databaseUrl: db.url,
    store: createArtifactStore(storeConfig),
    log,
    concurrency: config.concurrency,
    threads: config.threads,
    heartbeatMs: config.heartbeatMs,
    staleAfterMs: config.staleAfterMs,
    sweepIntervalMs: config.sweepIntervalMs,
    pollIntervalMs: config.pollIntervalMs,
    progressIntervalMs: config.progressIntervalMs,
    tasks: config.tasks,
    blobGc: config.blobGc.intervalMs > 0 ? config.blobGc : undefined,
    runTimeLimitS: config.runTimeLimitS,
    evalCacheDir: path.resolve(config.evalCacheDir),
  });
  let signaled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signaled) {
      log.warn({ signal }, 'already stopping; waiting for running thread tasks (use SIGKILL to abandon them)');
      return;
    }
    signaled = true;
    log.info({ signal }, 'stopping gracefully');
    worker
      .stop()
      .then(() => db.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  worker.done.catch((error: unknown) => {
    log.fatal({ err: error }, 'graphile-worker stopped with an error');
    process.exit(1);
  });
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, 'worker failed to start');
  process.exit(1);
});
