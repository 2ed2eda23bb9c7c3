/** Cooperative cancellation: ORT must never be interrupted mid-call, so work stops at safe points. */
export class CanceledError extends Error {
  constructor(message = 'canceled') {
    super(message);
    this.name = 'CanceledError';
  }
}

/** Call between units of work (layers, windows); throws CanceledError once the signal fired. */
export function throwIfCanceled(signal: AbortSignal | undefined, what = 'operation'): void {
  if (signal?.aborted) throw new CanceledError(`${what} canceled`);
}
