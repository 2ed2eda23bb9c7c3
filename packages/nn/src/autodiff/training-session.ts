/**
 * Runs a TrainingGraph in onnxruntime-node: one `session.run` per step returns the loss
 * and every gradient. Parameters go in as tensors over the caller's arrays (no copy for
 * float32 graphs); float64 graphs (gradient checks) get converted copies.
 */
import { ort } from '@distillery/onnx';
import { serializeModel } from '@distillery/onnx';
import { gradName, type TrainingGraph } from './training-graph';

export interface TrainingBatch {
  /** [batch * seq] row-major. */
  inputIds: BigInt64Array | Int32Array;
  /** [batch * seq]; -1 marks positions that do not count. */
  targets: BigInt64Array | Int32Array;
  /** [batch * seq * vocab], for KD graphs. */
  teacherLogits?: Float32Array | Float64Array;
  /** [batch * seq * teacherHiddenSize] each, in graph.teacherHidden order. */
  teacherHidden?: (Float32Array | Float64Array)[];
}

export interface TrainingStepResult {
  loss: number;
  grads: Map<string, Float32Array>;
  /** Each loss term ('loss.ce', 'loss.kd', 'loss.hidden') as computed in this step. */
  terms: Record<string, number>;
  /** [batch * seq * vocab] when the graph was built with `logits: true`. */
  logits?: Float32Array;
}

export interface TrainingSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /** Default 'all' for float32; float64 graphs must use 'basic' (ORT's QuickGelu fusion is float32-only). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface TrainingSession {
  readonly graph: TrainingGraph;
  step(params: Map<string, Float32Array | Float64Array>, batch: TrainingBatch): Promise<TrainingStepResult>;
  release(): Promise<void>;
}

function ids(a: BigInt64Array | Int32Array): BigInt64Array {
  return a instanceof BigInt64Array ? a : BigInt64Array.from(a, (v) => BigInt(v));
}

function floats(a: Float32Array | Float64Array, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  if (dtype === 'float32') return a instanceof Float32Array ? a : Float32Array.from(a);
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

export async function createTrainingSession(graph: TrainingGraph, opts: TrainingSessionOptions = {}): Promise<TrainingSession> {
  const session = await ort.InferenceSession.create(serializeModel(graph.model).model, {
    intraOpNumThreads: opts.intraOpNumThreads ?? 1,
    interOpNumThreads: opts.interOpNumThreads ?? 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? (graph.dtype === 'float64' ? 'basic' : 'all'),
  });
  const { dtype, seqLen: T, config } = graph;
  const termNames = graph.outputs.filter((o) => o.startsWith('loss.'));

  async function step(params: Map<string, Float32Array | Float64Array>, batch: TrainingBatch): Promise<TrainingStepResult> {
    if (batch.inputIds.length % T !== 0) throw new Error(`inputIds length ${batch.inputIds.length} is not a multiple of seqLen ${T}`);
    const B = batch.inputIds.length / T;
    if (graph.batchSize !== undefined && B !== graph.batchSize) throw new Error(`batch of ${B} rows given to a graph built for ${graph.batchSize}`);
    if (batch.targets.length !== B * T) throw new Error(`targets length ${batch.targets.length} != ${B * T}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, shape] of graph.paramShapes) {
      const data = params.get(name);
      if (!data) throw new Error(`missing parameter ${name}`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new Error(`parameter ${name} has ${data.length} values, expected [${shape}] = ${n}`);
      feeds[name] = new ort.Tensor(dtype, floats(data, dtype), shape);
    }
    feeds.input_ids = new ort.Tensor('int64', ids(batch.inputIds), [B, T]);
    feeds.targets = new ort.Tensor('int64', ids(batch.targets), [B, T]);
    if (graph.inputNames.includes('teacher_logits')) {
      if (!batch.teacherLogits) throw new Error('this graph distills: batch.teacherLogits is required');
      feeds.teacher_logits = new ort.Tensor(dtype, floats(batch.teacherLogits, dtype), [B, T, config.vocabSize]);
    }
    graph.teacherHidden.forEach((h, i) => {
      const data = batch.teacherHidden?.[i];
      if (!data) throw new Error(`batch.teacherHidden[${i}] (${h.input}) is required`);
      feeds[h.input] = new ort.Tensor(dtype, floats(data, dtype), [B, T, data.length / (B * T)]);
    });
    const out = await session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const name of graph.paramNames) {
      const g = out[gradName(name)]!.data as Float32Array | Float64Array;
      grads.set(name, g instanceof Float32Array ? g : Float32Array.from(g));
    }
    const terms: Record<string, number> = {};
    for (const n of termNames) terms[n] = Number((out[n]!.data as Float32Array | Float64Array)[0]);
    const logitsOut = out.logits?.data as Float32Array | Float64Array | undefined;
    return {
      loss: Number((out.loss!.data as Float32Array | Float64Array)[0]),
      grads,
      terms,
      ...(logitsOut ? { logits: logitsOut instanceof Float32Array ? logitsOut : Float32Array.from(logitsOut) } : {}),
    };
  }

  return {
    graph,
    step,
    release: () => session.release(),
  };
}
