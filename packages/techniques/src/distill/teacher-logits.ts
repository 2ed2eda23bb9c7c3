/**
 * The teacher side of distillation: the teacher model (any decoder with the Optimum
 * interface) run by ORT on each training batch from an empty cache, returning logits
 * and, when asked, the residual stream after chosen blocks (exposed as extra outputs).
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import type { TokenBatch } from '@distillery/nn';
import { decoderIo, emptyPastFeeds, float32Logits, tokenFeeds } from '@distillery/eval';

export interface TeacherOutputs {
  /** [batch * seq * vocab] */
  logits: Float32Array;
  /** [batch * seq * hidden] per requested block, in request order. */
  hidden: Float32Array[];
}

export interface TeacherRunner {
  run(batch: TokenBatch): Promise<TeacherOutputs>;
  release(): Promise<void>;
}

/** The output holding block j's residual stream: the second residual Add, as buildDecoder and Optimum name it. */
export function blockOutputName(model: Model, layer: number): string {
  const node = model.graph.nodes.find((n) => n.name === `/model/layers.${layer}/Add_1`);
  if (!node) throw new Error(`teacher has no node /model/layers.${layer}/Add_1 (the residual stream after block ${layer}), needed for hiddenMse`);
  return node.outputs[0]!;
}

export async function openTeacher(model: Model, opts: { hiddenLayers?: number[]; threads?: number } = {}): Promise<TeacherRunner> {
  const hiddenNames = (opts.hiddenLayers ?? []).map((l) => blockOutputName(model, l));
  const exposed = new Set(model.graph.outputs.map((o) => o.name));
  const extra = hiddenNames.filter((n) => !exposed.has(n)).map((name) => ({ name, dtype: 'float32' as const }));
  const withHidden: Model = extra.length ? { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } } : model;
  const session = await ort.InferenceSession.create(serializeModel(withHidden).model, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
  });
  let io: ReturnType<typeof decoderIo>;
  try {
    io = decoderIo(session);
  } catch (error) {
    await session.release();
    throw new Error(`teacher: ${(error as Error).message}`);
  }

  async function run(batch: TokenBatch): Promise<TeacherOutputs> {
    const { batchSize: B, seqLen: T } = batch;
    const feeds: Record<string, ort.Tensor> = { ...tokenFeeds(io, batch.inputIds, B, T), ...emptyPastFeeds(io, B) };
    const out = await session.run(feeds, ['logits', ...hiddenNames]);
    return {
      logits: float32Logits(out.logits!),
      hidden: hiddenNames.map((n) => out[n]!.data as Float32Array),
    };
  }

  return { run, release: () => session.release() };
}
