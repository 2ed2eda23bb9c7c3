/**
 * A run's cooperative stop request, shared with every thread task of that run. A thread
 * busy in a synchronous loop cannot receive messages, but it can read 4 shared bytes
 * between layers; model data itself is never shared (see thread-messages.ts).
 */
import { CANCEL_REQUESTED } from './thread-messages';

/** 'timeout': the attempt ran past the run time limit (RUN_TIME_LIMIT_S). */
export type StopReason = 'canceled' | 'shutdown' | 'lost' | 'timeout';

export class CancelFlag {
  readonly buffer = new SharedArrayBuffer(4);
  private readonly view = new Int32Array(this.buffer);
  private why: StopReason | null = null;

  /** The first reason wins: a run canceled during shutdown is still a cancellation. */
  request(reason: StopReason): void {
    if (this.why === null) this.why = reason;
    Atomics.store(this.view, 0, CANCEL_REQUESTED);
  }

  get requested(): boolean {
    return Atomics.load(this.view, 0) === CANCEL_REQUESTED;
  }

  get reason(): StopReason | null {
    return this.why;
  }
}

/** The stop flags of a process's attempts in progress; after `stopAll`, new ones start stopped. */
export class ActiveAttempts {
  private readonly flags = new Set<CancelFlag>();
  private stopping = false;

  add(flag: CancelFlag): void {
    if (this.stopping) flag.request('shutdown');
    this.flags.add(flag);
  }

  delete(flag: CancelFlag): void {
    this.flags.delete(flag);
  }

  get size(): number {
    return this.flags.size;
  }

  stopAll(): void {
    this.stopping = true;
    for (const flag of this.flags) flag.request('shutdown');
  }
}
