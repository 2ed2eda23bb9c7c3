/** Structured logs (pino); graphile-worker's messages are routed into the same logger. */
import { pino, type Logger } from 'pino';
import { Logger as WorkerLogger } from 'graphile-worker';

export function createLogger(level: string): Logger {
  return pino({ name: 'distillery-api', level, redact: ['req.headers.authorization', 'password', 'token'] });
}

export function workerLogger(log: Logger): WorkerLogger {
  return new WorkerLogger((scope) => (level, message, meta) => {
    const fields = { scope, ...(meta ?? {}) };
    if (level === 'error') log.error(fields, message);
    else if (level === 'warning') log.warn(fields, message);
    else if (level === 'info') log.info(fields, message);
    else log.debug(fields, message);
  });
}
