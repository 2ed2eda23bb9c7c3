/**
 * Running a built decoder in onnxruntime-node: plain number arrays and KvCache in,
 * logits and the next cache out. The I/O edge between ORT tensors and our own types.
 */
import { ort } from '@distillery/onnx';
import { serializeModel, type Model } from '@distillery/onnx';
import type { DecoderConfig } from './config';
import type { KvCache } from './reference-forward';

export type DecoderSession = ort.InferenceSession;

/** What running a decoder with the Optimum interface needs to know: the cache and logits shapes. */
export type DecoderShape = Pick<DecoderConfig, 'nLayers' | 'nKvHeads' | 'headDim' | 'vocabSize' | 'maxPositions'>;

/** One thread per session: these machines run one session per core (see ARCHITECTURE.md). */
export async function createDecoderSession(model: Model): Promise<DecoderSession> {
  return ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

export function emptyKvCache(c: DecoderShape, batch: number): KvCache {
  return {
    length: 0,
    layers: Array.from({ length: c.nLayers }, () => ({ key: new Float32Array(0), value: new Float32Array(0) })),
  };
}

export interface DecoderStepInput {
  /** [batch][seq] */
  inputIds: number[][];
  /** [batch][past + seq]; default all ones. */
  attentionMask?: number[][];
  /** [batch][seq]; default past + i. */
  positionIds?: number[][];
  past?: KvCache;
}

export interface DecoderStepOutput {
  /** [batch, seq, vocab] row-major. */
  logits: Float32Array;
  batch: number;
  seq: number;
  present: KvCache;
}

const i64 = (rows: number[][], dims: number[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat().map((v) => BigInt(v))), dims);

export async function runDecoder(session: DecoderSession, c: DecoderShape, input: DecoderStepInput): Promise<DecoderStepOutput> {
  const B = input.inputIds.length;
  const S = input.inputIds[0]?.length ?? 0;
  const past = input.past ?? emptyKvCache(c, B);
  const P = past.length;
  const T = P + S;
  const mask = input.attentionMask ?? input.inputIds.map(() => new Array<number>(T).fill(1));
  const positions = input.positionIds ?? input.inputIds.map((row) => row.map((_, i) => P + i));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(input.inputIds, [B, S]),
    attention_mask: i64(mask, [B, T]),
    position_ids: i64(positions, [B, S]),
  };
  const kvDims = [B, c.nKvHeads, P, c.headDim];
  past.layers.forEach((l, i) => {
    feeds[`past_key_values.${i}.key`] = new ort.Tensor('float32', l.key, kvDims);
    feeds[`past_key_values.${i}.value`] = new ort.Tensor('float32', l.value, kvDims);
  });
  const out = await session.run(feeds);
  const layers = Array.from({ length: c.nLayers }, (_, i) => ({
    key: out[`present.${i}.key`]!.data as Float32Array,
    value: out[`present.${i}.value`]!.data as Float32Array,
  }));
  return { logits: out.logits!.data as Float32Array, batch: B, seq: S, present: { length: T, layers } };
}

/** The logits row of (batch b, position s). */
export function logitsAt(out: DecoderStepOutput, c: DecoderShape, b: number, s: number): Float32Array {
  const off = (b * out.seq + s) * c.vocabSize;
  return out.logits.subarray(off, off + c.vocabSize);
}
