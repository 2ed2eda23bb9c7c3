/**
 * How a run attempt can end other than by succeeding, which decides what is recorded:
 * a permanent failure is recorded at once (retrying the same bytes and parameters fails
 * the same way); a stop is cooperative (cancel, shutdown, or another worker took over);
 * anything else is presumed transient and retried while attempts remain.
 */
import type { StopReason } from './cancel-flag';

export class PermanentRunError extends Error {
  override name = 'PermanentRunError';
  constructor(
    message: string,
    /** The recipe step that failed, when one did. */
    readonly stepIndex?: number,
  ) {
    super(message);
  }
}

export class RunStoppedError extends Error {
  override name = 'RunStoppedError';
  constructor(readonly reason: StopReason) {
    super(`run stopped (${reason})`);
  }
}

/** The run row is no longer ours to write (taken over, or canceled under us). */
export class RunNotOwnedError extends Error {
  override name = 'RunNotOwnedError';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
