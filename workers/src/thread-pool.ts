/**
 * The worker process's Piscina pool: one thread per core, each running ORT with one
 * intra-op thread (ARCHITECTURE.md: N threads x default ORT threads oversubscribe a
 * 2-core machine by 40-45%). Threads are never terminated while a task runs; `close()`
 * waits for running tasks, because ending a thread inside ORT aborts the process.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { FileFormat } from '@distillery/formats';
import type { CalibrationTaskInput } from './calibration-set';
import type { CancelFlag } from './cancel-flag';
import type {
  EvaluateTaskInput,
  EvaluateTaskOutput,
  ImportTaskOutput,
  ProgressMessage,
  SeriesPoint,
  TaskMessage,
  TechniqueTaskOutput,
  ThreadOutcome,
  ThreadTaskInput,
} from './thread-messages';

export interface TaskHooks {
  onProgress(progress: ProgressMessage): void;
  /** Series points a technique reported while running (see PointsMessage). */
  onPoints?(points: SeriesPoint[]): void;
  cancel: CancelFlag;
}

export interface ThreadPool {
  readonly threads: number;
  /** `model` is transferred: the caller must not use the buffer afterwards. */
  runTechnique(
    job: { model: ArrayBuffer; techniqueId: string; params: Record<string, unknown>; tokenizerJson: string | null; calibration?: CalibrationTaskInput },
    hooks: TaskHooks,
  ): Promise<ThreadOutcome<TechniqueTaskOutput>>;
  /** `model` and `baseModel` are transferred: the caller must not use the buffers afterwards. */
  evaluate(job: Omit<EvaluateTaskInput, 'kind' | 'progress' | 'cancel'>, hooks: TaskHooks): Promise<ThreadOutcome<EvaluateTaskOutput>>;
  /** Decode and validate an uploaded model. `model` is transferred. */
  importModel(
    job: { model: ArrayBuffer; modelFile: string | null; tokenizerJson: string | null; sourceDir: string | null; format: FileFormat; outFile: string },
    hooks: TaskHooks,
  ): Promise<ThreadOutcome<ImportTaskOutput>>;
  /** Waits for running and queued tasks, then ends the threads. */
  close(): Promise<void>;
}

export interface ThreadPoolOptions {
  /** Default os.availableParallelism(). */
  threads?: number;
}

const BOOTSTRAP = new URL('./thread-bootstrap.mjs', import.meta.url).href;

export function createThreadPool(options: ThreadPoolOptions = {}): ThreadPool {
  const threads = options.threads ?? availableParallelism();
  const pool = new Piscina({ filename: BOOTSTRAP, minThreads: threads, maxThreads: threads, idleTimeout: Infinity });

  // Piscina's own close() destroys the threads after closeTimeout even with a task inside
  // ORT, so draining is tracked here and destroy() is called only once nothing runs.
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  async function run<T>(input: Omit<ThreadTaskInput, 'progress' | 'cancel'>, hooks: TaskHooks): Promise<ThreadOutcome<T>> {
    if (closed) throw new Error('the thread pool is closed');
    const task = runInThread<T>(input, hooks);
    inFlight.add(task);
    try {
      return await task;
    } finally {
      inFlight.delete(task);
    }
  }

  async function runInThread<T>(input: Omit<ThreadTaskInput, 'progress' | 'cancel'>, hooks: TaskHooks): Promise<ThreadOutcome<T>> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: TaskMessage) => {
      if ('points' in m) hooks.onPoints?.(m.points);
      else hooks.onProgress(m);
    });
    try {
      const task = { ...input, progress: port2, cancel: hooks.cancel.buffer } as ThreadTaskInput;
      const baseModel = input.kind === 'evaluate' ? (input as Omit<EvaluateTaskInput, 'progress' | 'cancel'>).baseModel : null;
      const buffers = baseModel ? [input.model, baseModel] : [input.model];
      return (await pool.run(task, { transferList: [...buffers, port2] })) as ThreadOutcome<T>;
    } finally {
      port1.close();
    }
  }

  return {
    threads,
    runTechnique: (job, hooks) => run<TechniqueTaskOutput>({ kind: 'technique', ...job }, hooks),
    evaluate: (job, hooks) => run<EvaluateTaskOutput>({ kind: 'evaluate', ...job }, hooks),
    importModel: (job, hooks) => run<ImportTaskOutput>({ kind: 'import', ...job }, hooks),
    async close() {
      closed = true;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await pool.destroy();
    },
  };
}
