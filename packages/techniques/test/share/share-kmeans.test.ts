import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, initDecoderWeights, referenceForward, runDecoder, type DecoderWeights } from '@distillery/nn';
import { weightCensus } from '@distillery/eval';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { kmeansParams, quietContext, shareKmeans } from '../../src';

const config = decoderPreset('tiny');
const weights = initDecoderWeights(config, 9, 0.2);
const base = buildDecoder(config, weights);

/** The dense weights a palettized model stands for, read from its codebook, indices and offsets. */
function expandedWeights(model: Model): DecoderWeights {
  const out: DecoderWeights = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  for (const name of weights.keys()) {
    const cb = byName.get(`${name}_codebook`);
    if (!cb) continue;
    const idxT = byName.get(`${name}_indices`)!;
    const idx = tensorToFloat32(idxT);
    const groupColumns = byName.get(`${name}_group_columns`);
    const entries = byName.get(`${name}_entries`);
    const g = groupColumns ? tensorToFloat32(groupColumns)[0]! : Infinity;
    const e = entries ? tensorToFloat32(entries)[0]! : 0;
    const table = tensorToFloat32(cb);
    const cols = idxT.dims[1]!;
    out.set(name, Float32Array.from(idx, (j, i) => table[j + Math.floor((i % cols) / g) * e]!));
  }
  return out;
}

async function expectOrtMatchesReference(model: Model): Promise<void> {
  const ids = [[4, 8, 15, 16, 23, 42]];
  const session = await createDecoderSession(model);
  const got = await runDecoder(session, config, { inputIds: ids });
  await session.release();
  referenceForward(config, expandedWeights(model), ids).logits[0]!.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * config.vocabSize + k]).toBeCloseTo(v, 4)));
}

describe('share.kmeans', () => {
  it('4 bits per layer: 16 shared values, uint4-packed indices, ORT equals the reference with the expanded weights', async () => {
    const out = await shareKmeans(base, kmeansParams.parse({ bits: 4 }), quietContext());
    const up = expandedWeights(out.model).get('model.layers.0.mlp.up_proj.weight')!;
    expect(new Set(up).size).toBeLessThanOrEqual(16);
    const idx = out.model.graph.initializers.find((t) => t.name === 'model.layers.0.mlp.up_proj.weight_indices')!;
    expect(idx.dtype).toBe('uint4');
    expect(idx.raw.byteLength).toBe((32 * 64) / 2);
    // 4 bits per index plus a 16-entry float32 codebook per layer.
    const layers = config.nLayers * 7;
    const weightsCount = config.nLayers * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64);
    expect(out.report.bitsPerWeight).toBeCloseTo((weightsCount * 4 + layers * 16 * 32) / weightsCount, 3);
    await expectOrtMatchesReference(out.model);
  });

  it('per-group codebooks over output columns beat one per layer and run in ORT', async () => {
    const perLayer = await shareKmeans(base, kmeansParams.parse({ bits: 2 }), quietContext());
    const grouped = await shareKmeans(base, kmeansParams.parse({ bits: 2, groupColumns: 8 }), quietContext());
    // uint4 indices plus 4 float32 entries per 8 columns; the group offsets are computed, not stored (5 int32 scalars).
    const weightsCount = config.nLayers * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64);
    const groups = config.nLayers * (2 * 4 + 2 * 2 + 2 * 8 + 4);
    expect(grouped.report.bitsPerWeight).toBeCloseTo((weightsCount * 4 + groups * 4 * 32 + config.nLayers * 7 * 5 * 32) / weightsCount, 3);
    expect(grouped.report.weightRmsError).toBeLessThan(perLayer.report.weightRmsError as number);
    await expectOrtMatchesReference(grouped.model);
    // The weight census counts one weight per stored index, as before palettization.
    for (const m of [perLayer.model, grouped.model]) expect(weightCensus(m).weightParameters).toBe(weightCensus(base).weightParameters);
  });

  it('seeded: the same seed gives the same model; 6 bits stores uint8 indices', async () => {
    const a = await shareKmeans(base, kmeansParams.parse({ bits: 3, seed: 5 }), quietContext());
    const b = await shareKmeans(base, kmeansParams.parse({ bits: 3, seed: 5 }), quietContext());
    expect(a.report.weightRmsError).toBe(b.report.weightRmsError);
    const six = await shareKmeans(base, kmeansParams.parse({ bits: 6, roles: ['up'] }), quietContext());
    expect(six.model.graph.initializers.find((t) => t.name.endsWith('up_proj.weight_indices'))?.dtype).toBe('uint8');
    expect(kmeansParams.safeParse({ bits: 9 }).success).toBe(false);
  });
});
