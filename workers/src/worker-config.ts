/** The worker process's settings from its environment, validated up front. */
import { z } from 'zod';
import { WORKER_TASKS, type BlobGcSettings, type WorkerTask } from './start-worker';
import { DEFAULT_RUN_TIME_LIMIT_S, DEFAULT_WORKER_MEMORY_BUDGET_MB } from '@distillery/techniques';

const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  DATABASE_URL: z.string().optional(),
  ARTIFACTS_DIR: z.string().min(1).default('.data/artifacts'),
  EVAL_CACHE_DIR: z.string().min(1).default('.data/eval-cache'),
  WORKER_CONCURRENCY: positiveInt.default(1),
  WORKER_THREADS: positiveInt.optional(),
  WORKER_HEARTBEAT_MS: positiveInt.default(5_000),
  WORKER_STALE_AFTER_MS: positiveInt.default(60_000),
  WORKER_SWEEP_INTERVAL_MS: positiveInt.default(15_000),
  WORKER_POLL_INTERVAL_MS: positiveInt.default(2_000),
  WORKER_PROGRESS_INTERVAL_MS: positiveInt.default(500),
  /** Comma-separated job kinds this process takes (execute-run, import-model); default all. */
  WORKER_TASKS: z.string().optional(),
  /** 0 turns the periodic blob garbage collection off. */
  BLOB_GC_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  BLOB_GC_GRACE_MS: z.coerce.number().int().min(0).default(3_600_000),
  UPLOAD_GRACE_MS: z.coerce.number().int().min(0).default(86_400_000),
  RUN_TIME_LIMIT_S: z.coerce.number().positive().default(DEFAULT_RUN_TIME_LIMIT_S),
  WORKER_MEMORY_BUDGET_MB: positiveInt.default(DEFAULT_WORKER_MEMORY_BUDGET_MB),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface WorkerConfig {
  /** Unset or empty: the embedded Postgres in .data/ (packages/db resolveDatabase). */
  databaseUrl: string | undefined;
  artifactsDir: string;
  /** Cached base-model log-distributions (KL against the base), keyed by content hashes. */
  evalCacheDir: string;
  concurrency: number;
  threads: number | undefined;
  heartbeatMs: number;
  staleAfterMs: number;
  sweepIntervalMs: number;
  pollIntervalMs: number;
  progressIntervalMs: number;
  runTimeLimitS: number;
  memoryBudgetMb: number;
  logLevel: string;
  tasks: WorkerTask[];
  /** intervalMs 0: no periodic collection (npm run gc still uses the grace periods). */
  blobGc: BlobGcSettings;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success) throw new Error(`invalid worker environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  const tasks = e.WORKER_TASKS === undefined || e.WORKER_TASKS.trim() === '' ? [...WORKER_TASKS] : e.WORKER_TASKS.split(',').map((t) => t.trim());
  const unknown = tasks.filter((t) => !(WORKER_TASKS as readonly string[]).includes(t));
  if (unknown.length) throw new Error(`invalid worker environment: WORKER_TASKS: unknown task ${unknown.join(', ')} (known: ${WORKER_TASKS.join(', ')})`);
  return {
    databaseUrl: e.DATABASE_URL === '' ? undefined : e.DATABASE_URL,
    artifactsDir: e.ARTIFACTS_DIR,
    evalCacheDir: e.EVAL_CACHE_DIR,
    concurrency: e.WORKER_CONCURRENCY,
    threads: e.WORKER_THREADS,
    heartbeatMs: e.WORKER_HEARTBEAT_MS,
    staleAfterMs: e.WORKER_STALE_AFTER_MS,
    sweepIntervalMs: e.WORKER_SWEEP_INTERVAL_MS,
    pollIntervalMs: e.WORKER_POLL_INTERVAL_MS,
    progressIntervalMs: e.WORKER_PROGRESS_INTERVAL_MS,
    runTimeLimitS: e.RUN_TIME_LIMIT_S,
    memoryBudgetMb: e.WORKER_MEMORY_BUDGET_MB,
    logLevel: e.LOG_LEVEL,
    tasks: tasks as WorkerTask[],
    blobGc: { intervalMs: e.BLOB_GC_INTERVAL_MS, graceMs: e.BLOB_GC_GRACE_MS, uploadGraceMs: e.UPLOAD_GRACE_MS },
  };
}
