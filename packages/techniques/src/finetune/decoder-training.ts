/**
 * The training run every training technique shares (distill.kd, finetune.recover,
 * finetune.qat): one ONNX training graph of the decoder, batches drawn from a token
 * stream, AdamW under warmup + cosine, global-norm clipping, optional masks, and the
 * technique context's progress, metric series and cooperative cancellation.
 */
import { modelPerplexity } from '@distillery/eval';
import {
  buildDecoder,
  buildTrainingGraph,
  createTrainingSession,
  noDecayByName,
  tokenBatches,
  train,
  warmupCosine,
  type DecoderConfig,
  type LossPoint,
  type MaskMap,
  type ParamMap,
  type TokenBatch,
  type TrainingBatch,
  type TrainingGraphOptions,
} from '@distillery/nn';
import { CanceledError, throwIfCanceled } from '../canceled';
import type { TechniqueContext } from '../technique';

export interface TrainingSchedule {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  warmup: number;
  seed: number;
}

/** A batch and its 0-based position in the run (the teacher cache is keyed by it). */
export interface IndexedBatch {
  index: number;
  batch: TokenBatch;
}

/** What a distillation run adds to each batch: teacher logits and hidden states. */
export type TeacherInputs = (b: IndexedBatch) => Promise<Pick<TrainingBatch, 'teacherLogits' | 'teacherHidden'>>;

export interface DecoderTrainingOptions extends TrainingSchedule {
  config: DecoderConfig;
  params: ParamMap;
  tokens: Int32Array;
  graph: Omit<TrainingGraphOptions, 'batchSize' | 'seqLen' | 'dtype' | 'logits'>;
  masks?: MaskMap;
  teacher?: TeacherInputs;
  ctx: TechniqueContext;
  /** Prefix of metric names, e.g. 'train' gives 'train.loss'. */
  metric?: string;
  /** Share of the technique's progress this run covers (default [0, 1]). */
  progress?: [number, number];
  /** ORT threads of the training session (default 1: one session per core). */
  threads?: number;
  /** Held-out perplexity on ctx.evalTokens this many times over the run (default 4; 0 = never). */
  evalPoints?: number;
}

/** At most this many held-out tokens are scored per evaluation point, so evaluation stays a small share of training. */
const MAX_EVAL_TOKENS = 4096;

export interface DecoderTrainingResult {
  params: ParamMap;
  lossCurve: LossPoint[];
  /** Mean loss of the last (up to) 10 steps, less noisy than the last step alone. */
  finalLoss: number;
  steps: number;
}

/** The batch stream of a run: windows at seeded random offsets, numbered in draw order. */
export function indexedBatches(tokens: Int32Array, s: Pick<TrainingSchedule, 'batchSize' | 'seqLen' | 'seed'>) {
  const inner = tokenBatches({ tokens, batchSize: s.batchSize, seqLen: s.seqLen, seed: s.seed });
  return {
    next: (): IndexedBatch => {
      const index = inner.drawn();
      return { index, batch: inner.next() };
    },
    cursor: () => inner.cursor(),
    restore: (c: Parameters<typeof inner.restore>[0]) => inner.restore(c),
  };
}

/** Throws unless every token is a valid id of a `vocab`-sized vocabulary. */
export function checkTokens(tokens: Int32Array, vocab: number, what: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const v = tokens[i]!;
    if (v < 0 || v >= vocab) throw new Error(`${what}: token ${i} has id ${v}, outside the model's vocabulary of ${vocab}`);
  }
}

export async function trainDecoder(opts: DecoderTrainingOptions): Promise<DecoderTrainingResult> {
  const { config, ctx, steps } = opts;
  if (opts.seqLen > config.maxPositions) throw new Error(`seqLen ${opts.seqLen} exceeds the model's maxPositions ${config.maxPositions}`);
  if (opts.tokens.length < opts.seqLen + 1) throw new Error(`${opts.tokens.length} training tokens cannot fill one window of seqLen ${opts.seqLen} + 1`);
  ctx.onProgress(opts.progress?.[0] ?? 0, 'building the training graph');
  const graph = buildTrainingGraph(config, { ...opts.graph, batchSize: opts.batchSize, seqLen: opts.seqLen });
  throwIfCanceled(ctx.signal, 'training');
  const session = await createTrainingSession(graph, { intraOpNumThreads: opts.threads ?? 1 });
  const [from, to] = opts.progress ?? [0, 1];
  const metric = opts.metric ?? 'train';
  const evalTokens = ctx.evalTokens && ctx.evalTokens.length > opts.seqLen ? ctx.evalTokens.subarray(0, MAX_EVAL_TOKENS) : undefined;
  const points = opts.evalPoints ?? 4;
  const evaluate =
    evalTokens && points > 0
      ? async (params: ParamMap, step: number) => {
          const r = await modelPerplexity(buildDecoder(config, params), evalTokens, { window: opts.seqLen, signal: ctx.signal });
          ctx.onMetric?.(`${metric}.heldout.perplexity`, step, r.perplexity);
          return { perplexity: r.perplexity };
        }
      : undefined;
  try {
    throwIfCanceled(ctx.signal, 'training');
    const result = await train<IndexedBatch>({
      source: {
        step: async (params, b) => session.step(params, { ...b.batch, ...(opts.teacher ? await opts.teacher(b) : {}) }),
      },
      params: opts.params,
      frozen: opts.graph.frozen,
      batches: indexedBatches(opts.tokens, opts),
      steps,
      // Embeddings are not decayed: rare tokens would shrink toward zero between their updates.
      optimizer: { lr: opts.lr, beta2: 0.95, weightDecay: 0.01, noDecay: noDecayByName({ embeddings: true }) },
      schedule: warmupCosine({ peakLr: opts.lr, warmupSteps: Math.min(opts.warmup, steps), totalSteps: steps, minLr: opts.lr / 10 }),
      clip: 1,
      masks: opts.masks,
      seed: opts.seed,
      signal: ctx.signal,
      evaluate,
      evalEvery: evaluate ? Math.max(1, Math.ceil(steps / points)) : undefined,
      onProgress: (step, total, loss) => {
        ctx.onMetric?.(`${metric}.loss`, step, loss);
        ctx.onProgress(from + ((to - from) * step) / total, `step ${step}/${total} loss ${loss.toFixed(4)}`);
      },
    });
    if (result.aborted) throw new CanceledError(`training canceled after step ${result.step} of ${steps}`);
    const tail = result.lossCurve.slice(-10);
    const finalLoss = tail.length ? tail.reduce((a, p) => a + p.loss, 0) / tail.length : NaN;
    return { params: result.params, lossCurve: result.lossCurve, finalLoss, steps: result.step };
  } finally {
    await session.release();
  }
}
