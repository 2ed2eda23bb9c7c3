import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, initDecoderWeights, referenceForward, runDecoder, type DecoderWeights } from '@distillery/nn';
import { inspectModel, tensorToFloat32, type Model } from '@distillery/onnx';
import { factorizeSvd, quietContext, svdParams } from '../../src';

const config = decoderPreset('tiny');
const weights = initDecoderWeights(config, 7, 0.2);
const base = buildDecoder(config, weights);

/** The dense weights a factorized model stands for: every W_left x W_right product put back under W's name. */
function effectiveWeights(model: Model): DecoderWeights {
  const out: DecoderWeights = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  for (const t of model.graph.initializers) {
    const m = /^(.*)_left$/.exec(t.name);
    if (!m) continue;
    const left = tensorToFloat32(t);
    const rightT = byName.get(`${m[1]}_right`)!;
    const right = tensorToFloat32(rightT);
    const [inF, k] = t.dims as [number, number];
    const outF = rightT.dims[1]!;
    const w = new Float32Array(inF * outF);
    for (let i = 0; i < inF; i++) for (let r = 0; r < k; r++) for (let j = 0; j < outF; j++) w[i * outF + j]! += left[i * k + r]! * right[r * outF + j]!;
    out.set(m[1]!, w);
  }
  return out;
}

describe('lowrank.svd', () => {
  it('two MatMuls per layer; ORT equals the TypeScript reference with W = left x right; fewer parameters', async () => {
    const out = await factorizeSvd(base, svdParams.parse({ rank: 6 }), quietContext());
    const matmuls = (m: Model) => m.graph.nodes.filter((n) => n.opType === 'MatMul' && n.name.includes('_proj')).length;
    expect(matmuls(out.model)).toBe(2 * matmuls(base));
    expect(inspectModel(out.model).parameterCount).toBeLessThan(inspectModel(base).parameterCount);
    // q, o [32, 32]; k, v [32, 16] (GQA); gate, up [32, 64]; down [64, 32]
    expect(out.report.layerParamsAfter).toBe(config.nLayers * 6 * (2 * 64 + 2 * 48 + 3 * 96));
    expect(out.report.svdSeconds).toBeGreaterThan(0);
    const ids = [[1, 2, 30, 40, 50]];
    const session = await createDecoderSession(out.model);
    const got = await runDecoder(session, config, { inputIds: ids });
    await session.release();
    referenceForward(config, effectiveWeights(out.model), ids).logits[0]!.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * config.vocabSize + k]).toBeCloseTo(v, 4)));
  });

  it('keeps layers dense where the rank would not save parameters, and fails when that is every layer', async () => {
    // rank 20: q/o [32, 32] would need 20 * 64 > 1024, gate/up/down 20 * 96 < 2048 saves.
    const roles = ['q', 'o', 'gate', 'up', 'down'];
    const out = await factorizeSvd(base, svdParams.parse({ rank: 20, roles }), quietContext());
    expect(out.report.layersRewritten).toBe(config.nLayers * 3);
    expect(out.report.layersKept).toBe(config.nLayers * 2);
    await expect(factorizeSvd(base, svdParams.parse({ rank: 30, roles }), quietContext())).rejects.toThrow(/changed no layer/);
  });

  it('energy and parameter-share rules', async () => {
    const e = await factorizeSvd(base, svdParams.parse({ energy: 0.5 }), quietContext());
    expect(e.report.ranks).toMatch(/layers\.0\/mlp\/up_proj:\d+/);
    const p = await factorizeSvd(base, svdParams.parse({ paramsRatio: 0.25 }), quietContext());
    // floor(0.25 * 32 * 64 / 96) = 5 for the MLP, floor(0.25 * 32 * 32 / 64) = 4 for attention
    expect(p.report.ranks).toContain('layers.0/mlp/up_proj:5');
    expect(p.report.ranks).toContain('layers.0/self_attn/q_proj:4');
  });

  it('refuses a rank above min(in, out) naming the layer, and needs exactly one rule', async () => {
    await expect(factorizeSvd(base, svdParams.parse({ rank: 33 }), quietContext())).rejects.toThrow(/layer \/model\/layers.0\/self_attn\/q_proj\/MatMul: rank 33 is above min\(in, out\) = 32/);
    expect(svdParams.safeParse({ rank: 3, energy: 0.9 }).success).toBe(false);
    expect(svdParams.safeParse({}).success).toBe(false);
  });
});
