/**
 * Coalesces a stream of progress reports into at most one write per interval: the first
 * report is written at once, later ones within the interval are held and the latest is
 * written when it ends. Writes never overlap, so rows are updated in order.
 */
export interface Progress {
  fraction: number;
  message: string;
}

export interface ProgressThrottle {
  report(progress: Progress): void;
  /** Writes any held report now and waits for writes in flight. */
  flush(): Promise<void>;
  /** Drops held reports and stops writing (for runs whose outcome is being recorded). */
  stop(): Promise<void>;
}

export function throttleProgress(
  write: (progress: Progress) => Promise<void>,
  intervalMs: number,
  now: () => number = Date.now,
): ProgressThrottle {
  let pending: Progress | null = null;
  let lastWrite = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const writeNow = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (pending === null || stopped) return;
    const p = pending;
    pending = null;
    lastWrite = now();
    // A failed progress write must not fail the run: the next report tries again.
    chain = chain.then(() => write(p)).catch(() => undefined);
  };

  return {
    report(progress) {
      if (stopped) return;
      pending = progress;
      const wait = lastWrite + intervalMs - now();
      if (wait <= 0) writeNow();
      else if (timer === null) timer = setTimeout(writeNow, wait);
    },
    async flush() {
      writeNow();
      await chain;
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = null;
      await chain;
    },
  };
}
