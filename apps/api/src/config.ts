/**
 * Everything the API reads from the environment, validated once at start so a typo
 * fails loudly instead of silently falling back.
 */
import path from 'node:path';
import { z } from 'zod';
import type { RateLimits } from './rate-limit';
import { DEFAULT_FLOPS_PER_SECOND, DEFAULT_RUN_TIME_LIMIT_S, DEFAULT_WORKER_MEMORY_BUDGET_MB, type WorkerBudget } from '@distillery/techniques';

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const DEFAULT_SESSION_POLICY = { idleSeconds: 7 * 24 * 3600, maxAgeSeconds: 30 * 24 * 3600 } as const;

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
  /** Bytes of uploads a team may keep stored (sum of its uploads); 0 = no limit. */
  TEAM_UPLOAD_QUOTA_BYTES: intFrom(20 * 1024 ** 3, 0),
  GRAPHQL_MAX_DEPTH: intFrom(8, 1),
  GRAPHQL_MAX_ALIASES: intFrom(15, 0),
  GRAPHQL_MAX_TOKENS: intFrom(2000, 10),
  GRAPHQL_MAX_COST: intFrom(5000, 1),
  GRAPHQL_MAX_DIRECTIVES: intFrom(20, 0),
  /** "1" puts messages and stack traces of internal errors into responses (never by default). */
  GRAPHQL_DEBUG_ERRORS: z.enum(['0', '1']).default('0'),
  /** A session ends after this long without a request... */
  SESSION_IDLE_TIMEOUT_SECONDS: intFrom(DEFAULT_SESSION_POLICY.idleSeconds, 1),
  /** ...and this long after sign-in, whatever its use. */
  SESSION_MAX_AGE_SECONDS: intFrom(DEFAULT_SESSION_POLICY.maxAgeSeconds, 1),
  /** Failed sign-ins allowed per account (email) before backoff starts. */
  SIGNIN_FREE_FAILURES_PER_ACCOUNT: intFrom(5, 1),
  /** Failed sign-ins allowed per client address before backoff starts. */
  SIGNIN_FREE_FAILURES_PER_ADDRESS: intFrom(20, 1),
  /** First lock-out; each further failure doubles it, up to the maximum. */
  SIGNIN_BACKOFF_BASE_SECONDS: intFrom(2, 1),
  SIGNIN_BACKOFF_MAX_SECONDS: intFrom(15 * 60, 1),
  /** Failures older than this are forgotten. */
  SIGNIN_FAILURE_WINDOW_SECONDS: intFrom(3600, 1),
  /** Requests per window per bearer credential (API token or session); 0 = unlimited. */
  RATE_LIMIT_PER_TOKEN: intFrom(6000, 0),
  /** Requests per window per client address; 0 = unlimited. */
  RATE_LIMIT_PER_ADDRESS: intFrom(12000, 0),
  RATE_LIMIT_WINDOW_SECONDS: intFrom(60, 1),
  /** Express "trust proxy": whose X-Forwarded-For names the client address (the dashboard proxies from loopback). */
  API_TRUST_PROXY: z.string().min(1).default('loopback'),
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

export interface SessionPolicy {
  idleSeconds: number;
  maxAgeSeconds: number;
}

export interface SignInLimits {
  freeFailuresPerAccount: number;
  freeFailuresPerAddress: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  failureWindowSeconds: number;
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
  /** 0 = no limit. */
  teamUploadQuotaBytes: number;
  limits: GraphqlLimits;
  /** Internal error messages and stack traces in responses (GRAPHQL_DEBUG_ERRORS=1). */
  debugErrors: boolean;
  sessions: SessionPolicy;
  signInLimits: SignInLimits;
  rateLimits: RateLimits;
  trustProxy: string;
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
    teamUploadQuotaBytes: e.TEAM_UPLOAD_QUOTA_BYTES,
    limits: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
      maxDirectives: e.GRAPHQL_MAX_DIRECTIVES,
    },
    debugErrors: e.GRAPHQL_DEBUG_ERRORS === '1',
    sessions: { idleSeconds: e.SESSION_IDLE_TIMEOUT_SECONDS, maxAgeSeconds: e.SESSION_MAX_AGE_SECONDS },
    signInLimits: {
      freeFailuresPerAccount: e.SIGNIN_FREE_FAILURES_PER_ACCOUNT,
      freeFailuresPerAddress: e.SIGNIN_FREE_FAILURES_PER_ADDRESS,
      backoffBaseSeconds: e.SIGNIN_BACKOFF_BASE_SECONDS,
      backoffMaxSeconds: e.SIGNIN_BACKOFF_MAX_SECONDS,
      failureWindowSeconds: e.SIGNIN_FAILURE_WINDOW_SECONDS,
    },
    rateLimits: { windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS, perToken: e.RATE_LIMIT_PER_TOKEN, perAddress: e.RATE_LIMIT_PER_ADDRESS },
    trustProxy: e.API_TRUST_PROXY,
    runBudget: { memoryBytes: e.WORKER_MEMORY_BUDGET_MB * 2 ** 20, seconds: e.RUN_TIME_LIMIT_S, flopsPerSecond: e.WORKER_GFLOPS * 1e9 },
  };
}
