import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, decoderWeightsFromModel, initDecoderWeights, runDecoder } from '@distillery/nn';
import { makeTensor, type Model } from '@distillery/onnx';
import { quantizeRtnInt8, quietContext, rtnInt8Params } from '../src';

const ids = [[5, 17, 3, 88, 42, 1, 60, 9]];

async function logits(model: Model): Promise<Float32Array> {
  const s = await createDecoderSession(model);
  try {
    return (await runDecoder(s, decoderPreset('tiny'), { inputIds: ids })).logits;
  } finally {
    await s.release();
  }
}

describe('decoderWeightsFromModel (inverse of buildDecoder)', () => {
  for (const weightDtype of ['float32', 'float16'] as const) {
    for (const tie of [false, true]) {
      it(`rebuilding from the extracted weights gives identical logits (${weightDtype}, tied=${tie})`, async () => {
        const config = decoderPreset('tiny', { tieEmbeddings: tie });
        const model = buildDecoder(config, initDecoderWeights(config, 3), { weightDtype });
        const back = decoderWeightsFromModel(model);
        expect(back.config).toEqual(config);
        expect(back.weightDtype).toBe(weightDtype);
        expect(back.quantized.size).toBe(0);
        // float16 -> float32 -> float16 is exact, so the rebuilt model is the same model.
        const again = buildDecoder(back.config, back.weights, { weightDtype });
        const [a, b] = [await logits(model), await logits(again)];
        expect(Array.from(b)).toEqual(Array.from(a));
        // And the float32 rebuild of a float16 model computes the same function.
        if (weightDtype === 'float16') expect(Array.from(await logits(buildDecoder(back.config, back.weights)))).toEqual(Array.from(a));
      });
    }
  }

  it('refuses models whose weights were rewritten, naming the weight', () => {
    const config = decoderPreset('tiny');
    const model = buildDecoder(config, initDecoderWeights(config, 3));
    const broken = { ...model, graph: { ...model.graph, initializers: model.graph.initializers.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight') } };
    expect(() => decoderWeightsFromModel(broken)).toThrow(/model\.layers\.1\.mlp\.up_proj\.weight/);
    expect(() => decoderWeightsFromModel({ ...model, metadata: {} })).toThrow(/no decoder config/);
  });

  it('refuses an asymmetric (nonzero zero point) int8 weight, naming it', async () => {
    const config = decoderPreset('tiny');
    const q = (await quantizeRtnInt8(buildDecoder(config, initDecoderWeights(config, 3)), rtnInt8Params.parse({}), quietContext())).model;
    const target = '/model/layers.1/mlp/gate_proj/MatMul/DequantizeLinear';
    const zp = makeTensor('gate_zero_point', 'int8', [config.ffnSize], new Int8Array(config.ffnSize).fill(3));
    const nodes = q.graph.nodes.map((n) => (n.name === target ? { ...n, inputs: [...n.inputs, zp.name] } : n));
    const asym = { ...q, graph: { ...q.graph, nodes, initializers: [...q.graph.initializers, zp] } };
    expect(decoderWeightsFromModel(q).quantized.size).toBe(7 * config.nLayers + 1);
    expect(() => decoderWeightsFromModel(asym)).toThrow(/model\.layers\.1\.mlp\.gate_proj\.weight has a nonzero zero point/);
  });
});
