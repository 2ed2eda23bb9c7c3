/** The worker process's settings from its environment, validated up front. */
import { z } from 'zod';
import { DEFAULT_RUN_TIME_LIMIT_S, DEFAULT_WORKER_MEMORY_BUDGET_MB } from '@distillery/techniques';

const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  DATABASE_URL: z.string().optional(),
  ARTIFACTS_DIR: z.string().min(1).default('.data/artifacts'),
  WORKER_CONCURRENCY: positiveInt.default(1),
  WORKER_THREADS: positiveInt.optional(),
  WORKER_HEARTBEAT_MS: positiveInt.default(5_000),
  WORKER_STALE_AFTER_MS: positiveInt.default(60_000),
  WORKER_SWEEP_INTERVAL_MS: positiveInt.default(15_000),
  WORKER_POLL_INTERVAL_MS: positiveInt.default(2_000),
  WORKER_PROGRESS_INTERVAL_MS: positiveInt.default(500),
  RUN_TIME_LIMIT_S: z.coerce.number().positive().default(DEFAULT_RUN_TIME_LIMIT_S),
  WORKER_MEMORY_BUDGET_MB: positiveInt.default(DEFAULT_WORKER_MEMORY_BUDGET_MB),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface WorkerConfig {
  /** Unset or empty: the embedded Postgres in .data/ (packages/db resolveDatabase). */
  databaseUrl: string | undefined;
  artifactsDir: string;
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
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const r = EnvSchema.safeParse(env);
  if (!r.success) throw new Error(`invalid worker environment: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  return {
    databaseUrl: e.DATABASE_URL === '' ? undefined : e.DATABASE_URL,
    artifactsDir: e.ARTIFACTS_DIR,
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
  };
}
