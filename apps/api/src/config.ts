/**
 * Everything the API reads from the environment, validated once at start so a typo
 * fails loudly instead of silently falling back.
 */
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_FLOPS_PER_SECOND, DEFAULT_RUN_TIME_LIMIT_S, DEFAULT_WORKER_MEMORY_BUDGET_MB, type WorkerBudget } from '@distillery/techniques';

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  API_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().min(1).optional(),
  ARTIFACTS_DIR: z.string().min(1).default('.data/artifacts'),
  /** Server-side model imports must resolve inside this folder. */
  MODEL_IMPORT_ROOT: z.string().min(1).default('.data/imports'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** JSON body limit for /graphql (bytes). */
  API_MAX_BODY_BYTES: intFrom(1 << 20, 1024),
  /** Raw body limit for /upload (bytes). */
  API_MAX_UPLOAD_BYTES: intFrom(4 * 1024 ** 3, 1),
  GRAPHQL_MAX_DEPTH: intFrom(8, 1),
  GRAPHQL_MAX_ALIASES: intFrom(15, 0),
  GRAPHQL_MAX_TOKENS: intFrom(2000, 10),
  GRAPHQL_MAX_COST: intFrom(5000, 1),
  GRAPHQL_MAX_DIRECTIVES: intFrom(20, 0),
  /** What one run may need of a worker; createRun refuses recipes estimated beyond it. */
  WORKER_MEMORY_BUDGET_MB: intFrom(DEFAULT_WORKER_MEMORY_BUDGET_MB, 1),
  RUN_TIME_LIMIT_S: intFrom(DEFAULT_RUN_TIME_LIMIT_S, 1),
  WORKER_GFLOPS: z.coerce.number().positive().default(DEFAULT_FLOPS_PER_SECOND / 1e9),
});

export interface GraphqlLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  maxDirectives: number;
}

export interface ApiConfig {
  production: boolean;
  port: number;
  host: string;
  databaseUrl?: string;
  artifactsDir: string;
  importRoot: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  maxBodyBytes: number;
  maxUploadBytes: number;
  limits: GraphqlLimits;
  runBudget: WorkerBudget;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse `env` (default process.env); throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  // Empty strings mean "unset", as shells and .env files often produce them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const res = EnvSchema.safeParse(cleaned);
  if (!res.success) {
    throw new ConfigError(`invalid API configuration: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = res.data;
  return {
    production: e.NODE_ENV === 'production',
    port: e.API_PORT ?? e.PORT ?? 4000,
    host: e.API_HOST,
    databaseUrl: e.DATABASE_URL,
    artifactsDir: path.resolve(e.ARTIFACTS_DIR),
    importRoot: path.resolve(e.MODEL_IMPORT_ROOT),
    logLevel: e.LOG_LEVEL,
    maxBodyBytes: e.API_MAX_BODY_BYTES,
    maxUploadBytes: e.API_MAX_UPLOAD_BYTES,
    limits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    },
    runBudget: { memoryBytes: e.WORKER_MEMORY_BUDGET_MB * 2 ** 20, seconds: e.RUN_TIME_LIMIT_S, flopsPerSecond: e.WORKER_GFLOPS * 1e9 },
  };
}
