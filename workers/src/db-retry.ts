/**
 * The worker's own writes survive a database restart: a write that failed because the
 * connection was lost (server restarting, refused, reset) is tried again with backoff
 * until the database is back or `giveUpAfterMs` passed. Only connection failures are
 * retried, and only whole transactions, whose conditional updates make a second try after
 * a commit whose answer was lost a no-op rather than a second record.
 */

/** Postgres SQLSTATEs and socket errors that mean "the connection, not the statement, failed". */
const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'P1001', 'P1017']);
const CONNECTION_MESSAGES = /Can't reach database server|Connection terminated|connection error|terminating connection|database system is (starting up|shutting down)|Server has closed the connection|ECONNREFUSED|ECONNRESET/i;

export function isConnectionLoss(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const err = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof err.code === 'string' && CONNECTION_CODES.has(err.code)) return true;
    if (typeof err.message === 'string' && CONNECTION_MESSAGES.test(err.message)) return true;
    e = err.cause;
  }
  return false;
}

export interface RetryOptions {
  giveUpAfterMs?: number;
  onRetry?: (error: unknown, attempt: number) => void;
}

export async function retryOnConnectionLoss<T>(write: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.giveUpAfterMs ?? 120_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isConnectionLoss(error) || Date.now() > deadline) throw error;
      opts.onRetry?.(error, attempt);
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
    }
  }
}
