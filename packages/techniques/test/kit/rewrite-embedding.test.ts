import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, float16ArrayToFloat32, float32ToFloat16Array, float32Tensor, serializeModel, validate, type Model } from '@distillery/onnx';
import { rewriteEmbeddings } from '../../src';
import { seededUniform } from '../mlp-fixture';

const V = 50;
const D = 12;

function embeddingModel(table: Float32Array): Model {
  const b = new GraphBuilder('embed');
  const ids = b.input('input_ids', 'int64', ['batch', 'seq']);
  b.addInitializer(float32Tensor('model.embed_tokens.weight', [V, D], table));
  const h = b.op('Gather', ['model.embed_tokens.weight', ids], { axis: { type: 'int', value: 0 } });
  b.output(h, 'float32', ['batch', 'seq', D], 'hidden');
  return b.toModel();
}

async function gather(model: Model, ids: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
    return out.hidden!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('rewriteEmbeddings', () => {
  const table = seededUniform(V * D, 3);
  const ids = [0, 7, 49, 7, 23];

  it('float16: half the bytes, rows equal the float16-rounded table', async () => {
    const out = rewriteEmbeddings(embeddingModel(table), 'float16');
    expect(out).toMatchObject({ tables: 1, bytesBefore: V * D * 4, bytesAfter: V * D * 2 });
    expect(validate(out.model)).toEqual([]);
    const rounded = float16ArrayToFloat32(float32ToFloat16Array(table));
    const got = await gather(out.model, ids);
    expect(Array.from(got)).toEqual(ids.flatMap((t) => Array.from(rounded.subarray(t * D, (t + 1) * D))));
  });

  it('int8: one scale per token row; every value within half a step of the table', async () => {
    const out = rewriteEmbeddings(embeddingModel(table), 'int8');
    expect(out).toMatchObject({ tables: 1, bytesBefore: V * D * 4, bytesAfter: V * D + V * 4 });
    const got = await gather(out.model, ids);
    ids.forEach((t, k) => {
      const row = table.subarray(t * D, (t + 1) * D);
      const step = Math.max(...Array.from(row, Math.abs)) / 127;
      for (let c = 0; c < D; c++) expect(Math.abs(got[k * D + c]! - row[c]!)).toBeLessThanOrEqual(step / 2 + 1e-7);
    });
    expect(Array.from(got)).not.toEqual(ids.flatMap((t) => Array.from(table.subarray(t * D, (t + 1) * D))));
  });

  it("'keep' changes nothing", () => {
    const model = embeddingModel(table);
    expect(rewriteEmbeddings(model, 'keep').model).toBe(model);
  });
});
