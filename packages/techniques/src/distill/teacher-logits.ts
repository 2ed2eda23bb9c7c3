/**
 * The teacher side of distillation: the teacher model (any decoder with the Optimum
 * interface) run by ORT on each training batch from an empty cache, returning logits
 * and, when asked, the residual stream after chosen blocks (exposed as extra outputs).
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import type { TokenBatch } from '@distillery/nn';

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

const PAST = /^past_key_values\.\d+\.(key|value)$/;

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
  if (!session.outputNames.includes('logits')) throw new Error('teacher model has no "logits" output');
  const pastMeta = session.inputMetadata.filter((m) => PAST.test(m.name));
  const wants = (n: string) => session.inputNames.includes(n);

  async function run(batch: TokenBatch): Promise<TeacherOutputs> {
    const { batchSize: B, seqLen: T } = batch;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(batch.inputIds, (v) => BigInt(v)), [B, T]),
    };
    if (wants('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]);
    if (wants('position_ids')) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), [B, T]);
    for (const m of pastMeta) {
      const shape = m.isTensor ? m.shape : [];
      const heads = shape[1];
      const hd = shape[3];
      if (typeof heads !== 'number' || typeof hd !== 'number') throw new Error(`teacher input ${m.name} needs fixed kv-head and head-dim sizes`);
      feeds[m.name] = new ort.Tensor('float32', new Float32Array(0), [B, heads, 0, hd]);
    }
    const out = await session.run(feeds, ['logits', ...hiddenNames]);
    return {
      logits: out.logits!.data as Float32Array,
      hidden: hiddenNames.map((n) => out[n]!.data as Float32Array),
    };
  }

  return { run, release: () => session.release() };
}
