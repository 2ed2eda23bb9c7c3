/**
 * A worker process's moving parts: graphile-worker pulling `execute-run` jobs, the
 * Piscina pool doing the work, and the periodic sweep for runs abandoned by dead
 * workers. `stop()` is the graceful shutdown: no new jobs, attempts in progress stop at
 * their next safe point and put their run back in the queue, thread tasks drain, and
 * only then are the threads ended (ending a thread inside ORT aborts the process).
 */
import { collectGarbage, createPrismaClient } from '@distillery/db';
import type { ArtifactStore } from '@distillery/artifacts';
import { Logger as GraphileLogger, run as runGraphileWorker, type JobHelpers, type Runner } from 'graphile-worker';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BaseEvaluationCache } from './base-evaluation';
import { ActiveAttempts } from './cancel-flag';
import { executeRun, EXECUTE_RUN_TASK, type ExecuteRunDeps } from './execute-run';
import { IMPORT_MODEL_TASK, ImportPayloadSchema, importModel, type ImportModelDeps } from './import-model';
import { sweepStaleRuns } from './stale-run-sweep';
import { sweepTask } from './sweep-task';
import { ADVANCE_SWEEP_TASK } from '@distillery/experiments';
import { warmProvenance } from './run-provenance';
import { createThreadPool } from './thread-pool';
import { warmSuite } from './evaluation-suite';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The kinds of job a worker process can take. */
export const WORKER_TASKS = [EXECUTE_RUN_TASK, IMPORT_MODEL_TASK, ADVANCE_SWEEP_TASK] as const;
export type WorkerTask = (typeof WORKER_TASKS)[number];

export interface BlobGcSettings {
  /** How often this process collects unreferenced blobs. */
  intervalMs: number;
  /** Unreferenced blobs younger than this are kept. */
  graceMs: number;
  /** Uploads never imported are dropped after this long. */
  uploadGraceMs: number;
}

export interface WorkerSettings {
  databaseUrl: string;
  store: ArtifactStore;
  log: Logger;
  /** Runs executed at once by this process. Default 1: one run already uses every thread. */
  concurrency?: number;
  /** Piscina threads; default os.availableParallelism(). */
  threads?: number;
  /** Default 5 s. */
  heartbeatMs?: number;
  /** A running run without a heartbeat for this long is recovered by the sweep. Default 60 s. */
  staleAfterMs?: number;
  /** Default 15 s. */
  sweepIntervalMs?: number;
  /** How often idle workers look for jobs besides LISTEN/NOTIFY (e.g. jobs freed by the sweep). Default 2 s. */
  pollIntervalMs?: number;
  /** Minimum time between progress writes of one run. Default 500 ms. */
  progressIntervalMs?: number;
  /** Which jobs this process takes; default all. Runs also bring the stale-run sweep. */
  tasks?: readonly WorkerTask[];
  /** Periodic blob garbage collection; off when absent. */
  blobGc?: BlobGcSettings;
  /** An attempt running longer fails with a clear error (RUN_TIME_LIMIT_S). Default: no limit. */
  runTimeLimitS?: number;
  /** Folder of cached base-model log-distributions; default a folder in the OS temp dir. */
  evalCacheDir?: string;
  /** How often an active sweep looks for finished runs to start the next ones. Default 5 s. */
  sweepAdvanceIntervalMs?: number;
}

export interface RunningWorker {
  /** Resolves when the worker has stopped; rejects if graphile-worker failed. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const PayloadSchema = z.object({ runId: z.uuid() });

function graphileLogger(log: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { scope, ...meta };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}

export async function startWorker(settings: WorkerSettings): Promise<RunningWorker> {
  const log = settings.log;
  const staleAfterMs = settings.staleAfterMs ?? 60_000;
  const heartbeatMs = settings.heartbeatMs ?? 5_000;
  if (heartbeatMs * 3 > staleAfterMs) throw new Error(`staleAfterMs (${staleAfterMs}) must be at least 3 heartbeats (${heartbeatMs} ms each)`);
  const prisma = createPrismaClient(settings.databaseUrl);
  const pool = createThreadPool({ threads: settings.threads });
  // Computed once here (git describe, the split's hashes), so no run's time limit pays for it.
  warmProvenance();
  warmSuite(pool.threads);
  const active = new ActiveAttempts();
  const deps: ExecuteRunDeps = {
    prisma,
    store: settings.store,
    pool,
    log,
    baseEvaluations: new BaseEvaluationCache(),
    active,
    heartbeatMs,
    progressIntervalMs: settings.progressIntervalMs ?? 500,
    ...(settings.runTimeLimitS === undefined ? {} : { runTimeLimitMs: settings.runTimeLimitS * 1000 }),
    evalCacheDir: settings.evalCacheDir ?? path.join(tmpdir(), 'distillery-eval-cache'),
  };

  const task = async (payload: unknown, helpers: JobHelpers): Promise<void> => {
    const parsed = PayloadSchema.safeParse(payload);
    if (!parsed.success) {
      // Retrying cannot fix a malformed payload; completing the job drops it.
      log.error({ jobId: helpers.job.id, payload }, 'execute-run job without a valid runId; dropped');
      return;
    }
    const workerId = helpers.job.locked_by ?? `job-${helpers.job.id}`;
    await executeRun({ runId: parsed.data.runId, workerId, jobId: String(helpers.job.id), attempt: helpers.job.attempts, maxAttempts: helpers.job.max_attempts }, deps);
  };

  const importDeps: ImportModelDeps = { prisma, store: settings.store, pool, log };
  const importTask = async (payload: unknown, helpers: JobHelpers): Promise<void> => {
    const parsed = ImportPayloadSchema.safeParse(payload);
    if (!parsed.success) {
      log.error({ jobId: helpers.job.id, payload }, 'import-model job without a valid modelId; dropped');
      return;
    }
    await importModel({ ...parsed.data, attempt: helpers.job.attempts, maxAttempts: helpers.job.max_attempts }, importDeps);
  };
  const tasks = new Set<WorkerTask>(settings.tasks ?? WORKER_TASKS);
  const taskList = {
    ...(tasks.has(EXECUTE_RUN_TASK) ? { [EXECUTE_RUN_TASK]: task } : {}),
    ...(tasks.has(IMPORT_MODEL_TASK) ? { [IMPORT_MODEL_TASK]: importTask } : {}),
    ...(tasks.has(ADVANCE_SWEEP_TASK) ? { [ADVANCE_SWEEP_TASK]: sweepTask(prisma, log, settings.sweepAdvanceIntervalMs ?? 5_000) } : {}),
  };

  let collecting: Promise<void> = Promise.resolve();
  const gc = settings.blobGc;
  const collect = () => {
    if (!gc) return;
    collecting = collecting
      .then(async () => {
        const r = await collectGarbage(prisma, settings.store, { graceMs: gc.graceMs, uploadGraceMs: gc.uploadGraceMs });
        log.info({ deleted: r.deletedBlobs.length, deletedBytes: r.deletedBytes, expiredUploads: r.expiredUploads, kept: r.keptReferenced, tempFiles: r.tempFilesRemoved }, 'blob garbage collected');
      })
      .catch((error: unknown) => log.error({ err: error }, 'blob garbage collection failed'));
  };

  let sweeping: Promise<void> = Promise.resolve();
  const sweep = () => {
    sweeping = sweeping
      .then(async () => {
        for (const s of await sweepStaleRuns(prisma, staleAfterMs)) log.warn(s, `stale run ${s.action}`);
      })
      .catch((error: unknown) => log.error({ err: error }, 'stale-run sweep failed'));
  };

  let runner: Runner;
  try {
    runner = await runGraphileWorker({
      connectionString: settings.databaseUrl,
      concurrency: settings.concurrency ?? 1,
      pollInterval: settings.pollIntervalMs ?? 2_000,
      // Signals are ours: graphile-worker's handlers turn a second signal into a forceful
      // shutdown that would end threads inside ORT.
      noHandleSignals: true,
      logger: graphileLogger(log),
      taskList,
    });
  } catch (error) {
    await pool.close();
    await prisma.$disconnect();
    throw error;
  }
  const runsHere = tasks.has(EXECUTE_RUN_TASK);
  if (runsHere) sweep();
  const sweepTimer = runsHere ? setInterval(sweep, settings.sweepIntervalMs ?? 15_000) : undefined;
  const gcTimer = gc ? setInterval(collect, gc.intervalMs) : undefined;
  gcTimer?.unref();
  log.info({ threads: pool.threads, concurrency: settings.concurrency ?? 1, staleAfterMs, heartbeatMs, tasks: [...tasks], blobGcIntervalMs: gc?.intervalMs ?? null }, 'worker started');

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      log.info({ attempts: active.size }, 'worker stopping');
      clearInterval(sweepTimer);
      clearInterval(gcTimer);
      await sweeping;
      await collecting;
      active.stopAll();
      await runner.stop();
      await pool.close();
      await prisma.$disconnect();
      log.info('worker stopped');
    })();
    return stopping;
  };
  return { done: runner.promise, stop };
}
