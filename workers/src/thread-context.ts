/**
 * Progress and cancellation as seen from inside a Piscina thread. The shared flag is
 * turned into a real AbortSignal whenever `signal.aborted` is read or progress is
 * reported: techniques and evaluations check it between layers, windows or training
 * steps, which is exactly where stopping is safe (never inside an ORT call).
 */
import type { TechniqueContext } from '@distillery/techniques';
import { CanceledError } from '@distillery/techniques';
import { CANCEL_REQUESTED, type PointsMessage, type ProgressMessage, type SeriesPoint, type ThreadTaskBase } from './thread-messages';

export interface ThreadContext {
  technique: TechniqueContext;
  signal: AbortSignal;
  onProgress(fraction: number, message?: string): void;
  /** Sends series points to the main thread, which records them while the task runs. */
  onPoints(points: SeriesPoint[]): void;
  /** Throws CanceledError once cancellation was requested. */
  checkpoint(): void;
  close(): void;
}

export function threadContext(input: ThreadTaskBase): ThreadContext {
  const flag = new Int32Array(input.cancel);
  const controller = new AbortController();
  const signalAborted = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')!.get!;
  const poll = () => {
    if (!signalAborted.call(controller.signal) && Atomics.load(flag, 0) === CANCEL_REQUESTED) controller.abort();
  };
  // Every read of signal.aborted looks at the shared flag, so a loop that checks the signal
  // between ORT calls stops even when it reports no progress in between.
  Object.defineProperty(controller.signal, 'aborted', {
    get() {
      poll();
      return signalAborted.call(controller.signal);
    },
  });
  const onProgress = (fraction: number, message?: string) => {
    poll();
    const msg: ProgressMessage = { fraction: Math.min(1, Math.max(0, fraction)), message };
    input.progress.postMessage(msg);
  };
  return {
    signal: controller.signal,
    onProgress,
    onPoints(points) {
      if (points.length === 0) return;
      const msg: PointsMessage = { points };
      input.progress.postMessage(msg);
    },
    checkpoint() {
      poll();
      if (controller.signal.aborted) throw new CanceledError('canceled at a safe point');
    },
    close: () => input.progress.close(),
    technique: {
      onProgress,
      signal: controller.signal,
      log: { info: () => undefined, warn: () => undefined },
    },
  };
}
