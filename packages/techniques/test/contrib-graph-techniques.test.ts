/**
 * Graphs as other exporters write them: com.microsoft contrib ops around the linear layers,
 * float16 weights read directly by MatMul, or weights already in MatMulNBits. Weight
 * techniques either rewrite such a graph (and it still runs in stock ORT, close to the
 * original) or refuse it saying what they found.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildDecoder, buildGpt2, createDecoderSession, decoderPreset, initDecoderWeights, initGpt2Weights, parseGpt2Config, readGpt2Config, runDecoder } from '@distillery/nn';
import { float16ArrayToFloat32, float32ToFloat16Array, GraphBuilder, inspectModel, makeTensor, serializeModel, type Model } from '@distillery/onnx';
import { quietContext, registry } from '../src';
import { seededUniform } from './mlp-fixture';

const K = 64;
const H = 96;
const ROWS = 3;

async function apply(id: string, model: Model, params: unknown) {
  const t = registry.get(id);
  return t.apply(model, t.params.parse(params), quietContext());
}

/** x + skip -> SkipSimplifiedLayerNormalization (com.microsoft) -> MatMul over a float16 weight read directly. */
function contribModel(): Model {
  const b = new GraphBuilder('contrib');
  const x = b.input('x', 'float16', ['batch', K]);
  const skip = b.input('skip', 'float16', ['batch', K]);
  b.addInitializer(makeTensor('gamma', 'float16', [K], float32ToFloat16Array(Float32Array.from({ length: K }, (_, i) => 0.5 + (i % 5) / 10))));
  b.addInitializer(makeTensor('model.layers.0.mlp.up_proj.weight', 'float16', [K, H], float32ToFloat16Array(seededUniform(K * H, 3, 0.5))));
  const [normed] = b.node('SkipSimplifiedLayerNormalization', [x, skip, 'gamma'], { epsilon: { type: 'float', value: 1e-5 } }, { domain: 'com.microsoft', outputs: 1 });
  const y = b.op('MatMul', [normed!, 'model.layers.0.mlp.up_proj.weight'], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
  b.output(y, 'float16', ['batch', H], 'y');
  return b.toModel({ opsetImports: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }] });
}

async function run(model: Model): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(serializeModel(model).model);
  try {
    const feed = (seed: number) => new ort.Tensor('float16', float32ToFloat16Array(seededUniform(ROWS * K, seed)), [ROWS, K]);
    const out = await session.run({ x: feed(5), skip: feed(6) });
    return float16ArrayToFloat32(out.y!.data as Uint16Array);
  } finally {
    await session.release();
  }
}

function relError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) (num += (a[i]! - b[i]!) ** 2), (den += b[i]! ** 2);
  return Math.sqrt(num / den);
}

describe('techniques on contrib-op graphs', () => {
  it('quantize.rtn-int8 rewrites a float16 MatMul weight next to SkipSimplifiedLayerNormalization; ORT still runs it', async () => {
    const model = contribModel();
    const ref = await run(model);
    const out = await apply('quantize.rtn-int8', model, {});
    expect(out.report).toMatchObject({ layersQuantized: 1 });
    const ops = inspectModel(out.model).opHistogram;
    expect(ops['com.microsoft.SkipSimplifiedLayerNormalization']).toBe(1);
    expect(ops.DequantizeLinear).toBe(1);
    const err = relError(await run(out.model), ref);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.02);
  });

  it('prune.magnitude zeroes half of that weight and keeps the contrib op', async () => {
    const model = contribModel();
    const out = await apply('prune.magnitude', model, { sparsity: 0.5 });
    const w = out.model.graph.initializers.find((t) => t.dims.length === 2 && t.dims[0] === K && t.dims[1] === H);
    expect(w?.dtype).toBe('float16');
    const zeros = float16ArrayToFloat32(new Uint16Array(w!.raw.buffer.slice(w!.raw.byteOffset, w!.raw.byteOffset + w!.raw.byteLength))).filter((v) => v === 0).length;
    expect(zeros).toBe((K * H) / 2);
    expect(inspectModel(out.model).opHistogram['com.microsoft.SkipSimplifiedLayerNormalization']).toBe(1);
    expect((await run(out.model)).every(Number.isFinite)).toBe(true);
  });

  it('a model whose weights are all MatMulNBits is refused by quantize.rtn-int8 and prune.magnitude, naming what was found', async () => {
    const config = decoderPreset('tiny');
    const fp16 = buildDecoder(config, initDecoderWeights(config, 11, 0.3), { weightDtype: 'float16' });
    const nbits = (await apply('quantize.rtn', fp16, { bits: 4, groupSize: 32, format: 'matmulnbits', embeddings: 'int8' })).model;
    expect(inspectModel(nbits).opHistogram['com.microsoft.MatMulNBits']).toBe(15);
    const found = /model has no float MatMul weights: found 15 MatMulNBits nodes/;
    await expect(apply('quantize.rtn-int8', nbits, {})).rejects.toThrow(new RegExp(`^quantize\\.rtn-int8: ${found.source}`));
    await expect(apply('prune.magnitude', nbits, { sparsity: 0.5 })).rejects.toThrow(new RegExp(`^prune\\.magnitude: ${found.source}`));
  });

  it('quantize.rtn-int8 and prune.magnitude rewrite an imported GPT-2 graph (fused qkv, Conv1D layout) and it keeps its GPT-2 config', async () => {
    const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 41, hiddenSize: 32, nLayers: 2, nHeads: 4, ffnSize: 128, maxPositions: 32 });
    const model = buildGpt2(c, initGpt2Weights(c, 4, 0.1));
    const logits = async (m: Model) => {
      const s = await createDecoderSession(m);
      try {
        return (await runDecoder(s, c, { inputIds: [[3, 9, 27, 1, 40]] })).logits.slice();
      } finally {
        await s.release();
      }
    };
    const ref = await logits(model);
    const int8 = await apply('quantize.rtn-int8', model, {});
    // c_attn, c_proj, c_fc, mlp c_proj per block; the tied head reads wte through a Transpose and stays.
    expect(int8.report).toMatchObject({ layersQuantized: 4 * c.nLayers });
    expect(readGpt2Config(int8.model)).toEqual(c);
    const err = relError(await logits(int8.model), ref);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.02);
    const pruned = await apply('prune.magnitude', model, { sparsity: 0.5 });
    expect(readGpt2Config(pruned.model)).toEqual(c);
    expect((await logits(pruned.model)).every(Number.isFinite)).toBe(true);

    // Float16 storage, as an F16 GPT-2 folder imports: the same layers are found through their Casts.
    const half = buildGpt2(c, initGpt2Weights(c, 4, 0.1), { weightDtype: 'float16' });
    expect(half.graph.initializers.filter((t) => t.dtype === 'float16').length).toBe(2 + 12 * c.nLayers + 2);
    const halfRef = await logits(half);
    expect(relError(halfRef, ref)).toBeLessThan(0.01);
    const halfInt8 = await apply('quantize.rtn-int8', half, {});
    expect(halfInt8.report).toMatchObject({ layersQuantized: 4 * c.nLayers });
    const halfErr = relError(await logits(halfInt8.model), halfRef);
    expect(halfErr).toBeGreaterThan(0);
    expect(halfErr).toBeLessThan(0.02);
    const halfPruned = await apply('prune.magnitude', half, { sparsity: 0.5 });
    expect(relError(await logits(halfPruned.model), halfRef)).toBeGreaterThan(0);
  });

  it('head and width pruning refuse an imported GPT-2, saying what is missing and what applies instead; FFN and block pruning rebuild it', async () => {
    const c = parseGpt2Config({ arch: 'gpt2', vocabSize: 41, hiddenSize: 32, nLayers: 2, nHeads: 4, ffnSize: 128, maxPositions: 32 });
    const applies = 'prune.ffn-channels, prune.blocks, prune.magnitude and quantize.rtn-int8 apply to it';
    for (const weightDtype of ['float32', 'float16'] as const) {
      const model = buildGpt2(c, initGpt2Weights(c, 5, 0.1), { weightDtype });
      const cases: [string, unknown, string][] = [
        ['prune.width', { ratio: 0.25 }, "pruning GPT-2's embedding width is not built"],
        ['prune.heads', { groups: 1 }, "GPT-2's config.json has no head size of its own"],
      ];
      for (const [id, params, missing] of cases) {
        const refused = apply(id, model, params);
        await expect(refused, `${id} ${weightDtype}`).rejects.toThrow(`${id}: this is a GPT-2 model (LayerNorm, learned positions, fused c_attn), and ${missing}`);
        await expect(refused, `${id} ${weightDtype}`).rejects.toThrow(applies);
      }
      const blocks = await apply('prune.blocks', model, { blocks: [1] });
      expect(readGpt2Config(blocks.model)).toEqual({ ...c, nLayers: 1 });
    }
  });
});
