/**
 * Forward throughput of a causal LM over disjoint windows, as the eval bench measures it:
 * raw ORT (the plain model, logits fetched, B windows per call) and our evaluation (the
 * scoring graph of packages/eval, every token scored), in this thread or, split in
 * shares, in several worker threads each with a one-thread session.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { emptyPast, liveBase, openScorer, perplexity } from '@distillery/eval';
import { decodeModel } from '@distillery/onnx';

export type Mode = 'raw' | 'eval' | 'kl';

export interface ShareJob {
  mode: Mode;
  model: Uint8Array;
  /** The base model, for `kl`. */
  base?: Uint8Array;
  tokens: Int32Array;
  window: number;
  batch: number;
  threads: number;
}

/** Runs a job once untimed on its first batch (allocation, kernel choice), then timed in full; returns seconds. */
export async function runShare(job: ShareJob, ready: () => Promise<void> = async () => undefined): Promise<number> {
  const { window, batch, tokens } = job;
  if (job.mode === 'raw') {
    const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: job.threads, interOpNumThreads: 1 });
    try {
      const pass = async (limit: number) => {
        const n = Math.floor(Math.min(tokens.length, limit) / window);
        for (let w = 0; w < n; w += batch) {
          const B = Math.min(batch, n - w);
          const ids = new BigInt64Array(B * window);
          const pos = new BigInt64Array(B * window);
          for (let i = 0; i < B * window; i++) {
            ids[i] = BigInt(tokens[w * window + i]!);
            pos[i] = BigInt(i % window);
          }
          const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [B, window]), ...emptyPast(session, B) };
          if (session.inputNames.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * window).fill(1n), [B, window]);
          if (session.inputNames.includes('position_ids')) feeds.position_ids = new ort.Tensor('int64', pos, [B, window]);
          await session.run(feeds, ['logits']);
        }
      };
      await pass(batch * window);
      await ready();
      const t0 = performance.now();
      await pass(tokens.length);
      return (performance.now() - t0) / 1000;
    } finally {
      await session.release();
    }
  }
  const model = decodeModel(job.model);
  const scorer = await openScorer(model, { threads: job.threads, withBase: job.mode === 'kl' });
  const base = job.mode === 'kl' ? await openScorer(decodeModel(job.base!), { threads: job.threads }) : undefined;
  try {
    const opts = { window, batch, base: base ? liveBase(base) : undefined };
    await perplexity(scorer, tokens.subarray(0, batch * window), opts);
    await ready();
    const t0 = performance.now();
    await perplexity(scorer, tokens, opts);
    return (performance.now() - t0) / 1000;
  } finally {
    await scorer.release();
    await base?.release();
  }
}

const THREAD = new URL('./eval-thread.mjs', import.meta.url);

/**
 * The job split into `shares` contiguous runs of whole windows, one worker thread each
 * (one ORT thread per session, as the worker pool runs them). All threads start timing
 * together after every session is ready; the figure is the wall time until the last ends.
 */
export async function runInThreads(job: ShareJob, shares: number): Promise<number> {
  const windows = Math.floor(job.tokens.length / job.window);
  const per = Math.ceil(windows / shares);
  const go = new Int32Array(new SharedArrayBuffer(4));
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<number>[] = [];
  for (let s = 0; s < shares; s++) {
    const tokens = job.tokens.slice(s * per * job.window, Math.min(windows, (s + 1) * per) * job.window);
    const w = new Worker(THREAD, { workerData: { job: { ...job, tokens }, go: go.buffer } });
    workers.push(w);
    ready.push(new Promise((resolve, reject) => w.once('message', (m: { ready?: true }) => (m.ready ? resolve() : reject(new Error('unexpected message')))).once('error', reject)));
    done.push(new Promise((resolve, reject) => w.on('message', (m: { seconds?: number }) => m.seconds !== undefined && resolve(m.seconds)).once('error', reject)));
  }
  try {
    await Promise.all(ready);
    const t0 = performance.now();
    Atomics.store(go, 0, 1);
    Atomics.notify(go, 0);
    await Promise.all(done);
    return (performance.now() - t0) / 1000;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
