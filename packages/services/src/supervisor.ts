/**
 * Keeps the platform's child processes up: a child that exits on its own (a SIGKILLed
 * worker, an API that crashed) is started again after a backoff that doubles with each
 * quick failure (1 s, 2 s, 4 s... up to 30 s) and starts over once a child has run for a
 * while. A dead worker's run is retried by the surviving workers' stale-heartbeat sweep,
 * so restarting is all supervision has to do. `stop()` ends every child in the order
 * given (front doors first, the worker last) and restarts nothing from then on.
 */
import type { Service } from './services';

export interface SupervisedChild {
  name: string;
  /** Starts the child and resolves once it is ready (listening, taking jobs). */
  start(): Promise<Service>;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A child that ran at least this long restarts after initialMs again. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 60_000 };

export interface SupervisorEvents {
  /** A child exited without being asked to; it restarts after `delayMs`. */
  onExit?(name: string, exit: { code: number | null; signal: NodeJS.Signals | null }, delayMs: number, restarts: number): void;
  onRestarted?(name: string, service: Service): void;
  /** A restart attempt failed; another follows after the next backoff. */
  onRestartFailed?(name: string, error: unknown): void;
}

/** Backoff before restart number `restarts` (1-based) of a child that ran `ranMs`. */
export function restartDelay(policy: BackoffPolicy, restarts: number, ranMs: number): number {
  if (ranMs >= policy.resetAfterMs) return policy.initialMs;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, restarts - 1));
}

interface Slot {
  child: SupervisedChild;
  service: Service;
  startedAt: number;
  /** Quick failures in a row (reset when a run lasted resetAfterMs). */
  restarts: number;
  timer: NodeJS.Timeout | null;
  /** Resolves when a pending restart finished (or was abandoned). */
  restarting: Promise<void> | null;
}

export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  private stopping = false;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly events: SupervisorEvents = {},
  ) {}

  /** Starts a child and keeps it up. Rejects if its first start fails (nothing to keep up yet). */
  async add(child: SupervisedChild): Promise<Service> {
    if (this.slots.has(child.name)) throw new Error(`a child named ${child.name} is already supervised`);
    const service = await child.start();
    const slot: Slot = { child, service, startedAt: Date.now(), restarts: 0, timer: null, restarting: null };
    this.slots.set(child.name, slot);
    this.watch(slot);
    return service;
  }

  /** The child's current process. */
  current(name: string): Service {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no supervised child named ${name}`);
    return slot.service;
  }

  /** How many times the child was restarted since its last long run. */
  restarts(name: string): number {
    return this.slots.get(name)?.restarts ?? 0;
  }

  private watch(slot: Slot): void {
    const watched = slot.service;
    void watched.exited.then((exit) => {
      if (this.stopping || slot.service !== watched) return;
      const ranMs = Date.now() - slot.startedAt;
      if (ranMs >= this.policy.resetAfterMs) slot.restarts = 0;
      slot.restarts += 1;
      const delay = restartDelay(this.policy, slot.restarts, ranMs);
      this.events.onExit?.(slot.child.name, exit, delay, slot.restarts);
      this.scheduleRestart(slot, delay);
    });
  }

  private scheduleRestart(slot: Slot, delayMs: number): void {
    slot.restarting = new Promise<void>((resolve) => {
      slot.timer = setTimeout(() => {
        slot.timer = null;
        if (this.stopping) return resolve();
        slot.child.start().then(
          (service) => {
            slot.restarting = null;
            if (this.stopping) {
              // Stopped while it was starting: end it too.
              void service.stop('SIGTERM').finally(resolve);
              return;
            }
            slot.service = service;
            slot.startedAt = Date.now();
            this.watch(slot);
            this.events.onRestarted?.(slot.child.name, service);
            resolve();
          },
          (error: unknown) => {
            this.events.onRestartFailed?.(slot.child.name, error);
            slot.restarts += 1;
            resolve();
            if (!this.stopping) this.scheduleRestart(slot, restartDelay(this.policy, slot.restarts, 0));
          },
        );
      }, delayMs);
    });
  }

  /**
   * Stops every child, group by group in the order given (children in one group stop
   * together); children not named stop last. `graceMs` per group before SIGKILL.
   */
  async stop(order: { names: string[]; graceMs: number }[] = []): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots.values()) {
      if (slot.timer) {
        // Nothing was started yet: there is nothing to wait for.
        clearTimeout(slot.timer);
        slot.timer = null;
        slot.restarting = null;
      }
    }
    // A restart already under way finishes (and then stops its child itself).
    await Promise.all([...this.slots.values()].map((s) => s.restarting ?? Promise.resolve()));
    const named = new Set(order.flatMap((g) => g.names));
    const rest = [...this.slots.keys()].filter((n) => !named.has(n));
    for (const group of [...order, { names: rest, graceMs: 30_000 }]) {
      await Promise.all(group.names.map((n) => this.slots.get(n)?.service.stop('SIGTERM', group.graceMs) ?? Promise.resolve()));
    }
  }
}
