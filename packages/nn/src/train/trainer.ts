/**
 * The training loop around a gradient source: micro-batch accumulation, frozen parameters,
 * sparsity masks, global-norm clipping, AdamW under a schedule, periodic evaluation and
 * checkpoints, cooperative cancellation. Everything random flows from seeded generators whose
 * state is checkpointed, so a resumed run reproduces the uninterrupted one bitwise.
 */
import { accumulateGradients } from './accumulate';
import { AdamW, type AdamWOptions } from './adamw';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { clipGlobalNorm, globalNorm } from './clip';
import { applyMasks, checkMasks, type MaskMap } from './masks';
import { createRng } from './rng';
import { constantSchedule, type Schedule } from './schedule';
import type { BatchSource, GradientSource, JsonValue, ParamMap, StepContext } from './types';

export interface LossPoint {
  /** 1-based optimizer step. */
  step: number;
  /** Mean loss over the step's micro-batches, before the update. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

export interface EvalPoint {
  step: number;
  metrics: Record<string, number>;
}

export interface TrainOptions<B> {
  source: GradientSource<B>;
  /** Initial parameters; copied, never modified. */
  params: ParamMap;
  batches: BatchSource<B>;
  /** Total optimizer steps (a resumed run counts the steps already done). */
  steps: number;
  optimizer?: AdamWOptions;
  /** Default: constant at `optimizer.lr`. */
  schedule?: Schedule;
  /** Max global gradient norm; omitted means no clipping. */
  clip?: number;
  /** Micro-batches per optimizer step (default 1). */
  accumulation?: number;
  frozen?: Iterable<string> | ((name: string) => boolean);
  masks?: MaskMap;
  /** Seed of the per-step seeds handed to the source (default 0). */
  seed?: number;
  /** Evaluate every N steps and after the last one; without it, only after the last. */
  evalEvery?: number;
  evaluate?: (params: ParamMap, step: number) => Promise<Record<string, number>> | Record<string, number>;
  checkpointEvery?: number;
  /** Where checkpoints go; one is also written when the run is aborted. */
  checkpointDir?: string;
  /** Continue from the checkpoint in `checkpointDir` when one is there. */
  resume?: boolean;
  onProgress?: (step: number, total: number, loss: number, lr: number) => void;
  /** Checked between steps: an aborted signal ends the run after the current step. */
  signal?: AbortSignal;
}

export interface TrainResult {
  params: ParamMap;
  lossCurve: LossPoint[];
  evals: EvalPoint[];
  /** Optimizer steps completed (less than `steps` when aborted). */
  step: number;
  aborted: boolean;
  optimizer: AdamW;
}

function frozenPredicate(frozen: TrainOptions<unknown>['frozen']): (name: string) => boolean {
  if (!frozen) return () => false;
  if (typeof frozen === 'function') return frozen;
  const set = new Set(frozen);
  return (name) => set.has(name);
}

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`train: ${name} must be a positive integer, got ${v}`);
}

interface Meta {
  lossCurve: LossPoint[];
  evals: EvalPoint[];
}

export async function train<B>(opts: TrainOptions<B>): Promise<TrainResult> {
  const { source, batches, steps } = opts;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`train: steps must be an integer >= 0, got ${steps}`);
  positiveInt('accumulation', opts.accumulation);
  positiveInt('evalEvery', opts.evalEvery);
  positiveInt('checkpointEvery', opts.checkpointEvery);
  if (opts.checkpointEvery && !opts.checkpointDir) throw new Error('train: checkpointEvery needs checkpointDir');
  if (opts.resume && !opts.checkpointDir) throw new Error('train: resume needs checkpointDir');
  const accumulation = opts.accumulation ?? 1;
  const isFrozen = frozenPredicate(opts.frozen);
  const masks: MaskMap = opts.masks ?? new Map();

  let params: ParamMap = new Map([...opts.params].map(([k, v]) => [k, Float32Array.from(v)]));
  checkMasks(params, masks);
  for (const name of masks.keys()) {
    if (isFrozen(name)) throw new Error(`train: parameter "${name}" is both frozen and masked`);
  }
  applyMasks(params, masks);

  const optimizer = new AdamW(opts.optimizer);
  const schedule = opts.schedule ?? constantSchedule(optimizer.config.lr);
  const rng = createRng(opts.seed ?? 0);
  let lossCurve: LossPoint[] = [];
  let evals: EvalPoint[] = [];
  let done = 0;

  if (opts.resume && opts.checkpointDir && (await hasCheckpoint(opts.checkpointDir))) {
    const ck = await loadCheckpoint(opts.checkpointDir);
    for (const [name, p] of params) {
      const q = ck.params.get(name);
      if (!q || q.length !== p.length) throw new Error(`train: checkpoint in ${opts.checkpointDir} does not match the model (parameter "${name}")`);
    }
    if (ck.params.size !== params.size) throw new Error(`train: checkpoint in ${opts.checkpointDir} has ${ck.params.size} parameters, the model ${params.size}`);
    params = ck.params;
    if (ck.optimizer) optimizer.loadState(ck.optimizer);
    if (ck.rng) rng.setState(ck.rng);
    if (ck.dataCursor !== undefined && ck.dataCursor !== null) batches.restore(ck.dataCursor);
    const meta = ck.meta as unknown as Meta | null;
    lossCurve = meta?.lossCurve ?? [];
    evals = meta?.evals ?? [];
    done = ck.step;
  }

  const checkpoint = async (): Promise<void> => {
    if (!opts.checkpointDir) return;
    await saveCheckpoint(opts.checkpointDir, {
      step: done,
      params,
      optimizer: optimizer.state(),
      rng: rng.state(),
      dataCursor: batches.cursor(),
      meta: { lossCurve, evals } as unknown as JsonValue,
    });
  };
  const trainable = (name: string): boolean => params.has(name) && !isFrozen(name);

  let aborted = false;
  while (done < steps) {
    if (opts.signal?.aborted) {
      aborted = true;
      break;
    }
    const step = done + 1;
    const lr = schedule(done);
    const micro: B[] = [];
    const contexts: StepContext[] = [];
    for (let k = 0; k < accumulation; k++) {
      micro.push(batches.next());
      contexts.push({ step, seed: rng.nextU32() });
    }
    const { loss, grads } = await accumulateGradients(source, params, micro, { keep: trainable, contexts });
    if (!Number.isFinite(loss)) throw new Error(`train: loss is ${loss} at step ${step}`);
    for (const name of params.keys()) {
      if (trainable(name) && !grads.has(name)) throw new Error(`train: the gradient source returned no gradient for trainable parameter "${name}"`);
    }
    applyMasks(grads, masks);
    const gradNorm = opts.clip !== undefined ? clipGlobalNorm(grads, opts.clip).norm : globalNorm(grads);
    optimizer.step(params, grads, lr, masks);
    done = step;
    lossCurve.push({ step, loss, lr, gradNorm });
    opts.onProgress?.(step, steps, loss, lr);

    if (opts.evaluate && ((opts.evalEvery && step % opts.evalEvery === 0) || step === steps)) {
      evals.push({ step, metrics: await opts.evaluate(params, step) });
    }
    if (opts.checkpointEvery && step % opts.checkpointEvery === 0) await checkpoint();
  }
  if (aborted) await checkpoint();
  return { params, lossCurve, evals, step: done, aborted, optimizer };
}
