/**
 * Request rate limits per API credential and per client address, as fixed-window
 * counters in Postgres (one UPSERT per key and request), so every API process behind a
 * load balancer counts against the same windows. Over the limit, REST routes answer
 * 429 with Retry-After and /graphql answers the same status with a GraphQL error
 * RATE_LIMITED carrying retryAfterSeconds; a WebSocket connection over the limit is closed
 * with 4429. Sign-in keeps its own throttle on top.
 */
import type { PrismaClient } from '@distillery/db';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { sendJsonError } from './http-errors';
import { bearerToken, hashToken } from './tokens';

export interface RateLimits {
  windowSeconds: number;
  /** Requests per window per bearer credential; 0 = unlimited. */
  perToken: number;
  /** Requests per window per client address; 0 = unlimited. */
  perAddress: number;
}

/** The window a moment falls in: [start, start + windowSeconds). */
export function windowOf(nowMs: number, windowSeconds: number): { start: Date; retryAfterSeconds: number } {
  const w = windowSeconds * 1000;
  const start = Math.floor(nowMs / w) * w;
  return { start: new Date(start), retryAfterSeconds: Math.max(1, Math.ceil((start + w - nowMs) / 1000)) };
}

/** Count one request against `key`; the count within the current window, this one included. */
export async function countRequest(prisma: PrismaClient, key: string, windowStart: Date): Promise<number> {
  const rows = await prisma.$queryRaw<{ count: number }[]>`
    INSERT INTO "RateLimitWindow" (key, "windowStart", count) VALUES (${key}, ${windowStart}, 1)
    ON CONFLICT (key, "windowStart") DO UPDATE SET count = "RateLimitWindow".count + 1
    RETURNING count`;
  return rows[0]!.count;
}

interface Keyed {
  key: string;
  limit: number;
  what: string;
}

function keysOf(authorization: string | undefined, address: string | undefined, limits: RateLimits): Keyed[] {
  const out: Keyed[] = [];
  const secret = bearerToken(authorization);
  // The hash, so the table never holds a usable credential.
  if (secret && limits.perToken > 0) out.push({ key: `token:${hashToken(secret)}`, limit: limits.perToken, what: 'this token' });
  if (limits.perAddress > 0) out.push({ key: `address:${address ?? 'unknown'}`, limit: limits.perAddress, what: 'this address' });
  return out;
}

export interface Refusal {
  message: string;
  retryAfterSeconds: number;
}

/** Count one request of this credential and address; a refusal when either is over its limit. */
export async function checkRateLimit(prisma: PrismaClient, limits: RateLimits, authorization: string | undefined, address: string | undefined, nowMs = Date.now()): Promise<Refusal | null> {
  const keys = keysOf(authorization, address, limits);
  if (keys.length === 0) return null;
  const { start, retryAfterSeconds } = windowOf(nowMs, limits.windowSeconds);
  // Every request counts against all its keys, refused ones too, so hammering does not pay.
  const counts = await Promise.all(keys.map((k) => countRequest(prisma, k.key, start)));
  const over = keys.find((k, i) => counts[i]! > k.limit);
  if (!over) return null;
  return { retryAfterSeconds, message: `rate limit of ${over.limit} requests per ${limits.windowSeconds} s for ${over.what} reached; retry in ${retryAfterSeconds} s` };
}

// Windows older than this are dropped now and then, off the request path, so the table stays small.
const PRUNE_EVERY_MS = 60_000;

/** Drop ended windows every minute; returns the function that stops it. */
export function startRateLimitPruning(prisma: PrismaClient, limits: RateLimits, log: Logger): () => void {
  const timer = setInterval(() => {
    prisma.rateLimitWindow
      .deleteMany({ where: { windowStart: { lt: new Date(Date.now() - 2 * limits.windowSeconds * 1000) } } })
      .catch((e: unknown) => log.warn({ err: e }, 'pruning rate-limit windows failed'));
  }, PRUNE_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export function rateLimiter(prisma: PrismaClient, limits: RateLimits, log: Logger) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    let refusal: Refusal | null;
    try {
      refusal = await checkRateLimit(prisma, limits, req.headers.authorization, req.ip);
    } catch (e) {
      // Without its database the request fails anyway, with its own clear error; the limiter stays out of the way.
      log.warn({ err: e }, 'rate limit not checked');
      return next();
    }
    if (refusal) {
      res.setHeader('retry-after', String(refusal.retryAfterSeconds));
      return sendJsonError(res, 429, 'RATE_LIMITED', refusal.message, { retryAfterSeconds: refusal.retryAfterSeconds });
    }
    next();
  };
}
