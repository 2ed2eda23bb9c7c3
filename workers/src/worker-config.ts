/** The worker process's settings from its environment, validated up front. */
import { z } from 'zod';

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
  logLevel: string;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success) throw new Error(`invalid worker environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
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
    logLevel: e.LOG_LEVEL,
  };
}
