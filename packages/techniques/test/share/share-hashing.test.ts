import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, initDecoderWeights, referenceForward, runDecoder, type DecoderWeights } from '@distillery/nn';
import { inspectModel, tensorToFloat32, type Model } from '@distillery/onnx';
import { expandHashed, hashingParams, quietContext, shareHashing } from '../../src';

const config = decoderPreset('tiny');
const weights = initDecoderWeights(config, 4, 0.2);
const base = buildDecoder(config, weights);

function hashedWeights(model: Model, seed: number): DecoderWeights {
  const out: DecoderWeights = new Map([...weights].map(([k, v]) => [k, Float32Array.from(v)]));
  for (const t of model.graph.initializers) {
    const m = /^(.*)_hash_table$/.exec(t.name);
    if (!m) continue;
    const [rows, cols] = base.graph.initializers.find((w) => w.name === m[1])!.dims as [number, number];
    out.set(m[1]!, expandHashed(tensorToFloat32(t), rows, cols, seed));
  }
  return out;
}

describe('share.hashing', () => {
  it('stores only the bucket values; ORT computes the hash in the graph as the TypeScript expansion does', async () => {
    const out = await shareHashing(base, hashingParams.parse({ ratio: 0.125, seed: 3 }), quietContext());
    expect(inspectModel(out.model).parameterCount).toBeLessThan(inspectModel(base).parameterCount);
    expect(out.report.bitsPerWeight).toBeLessThan(32 * 0.125 * 2 + 1);
    const ids = [[9, 8, 7, 6, 5]];
    const session = await createDecoderSession(out.model);
    const got = await runDecoder(session, config, { inputIds: ids });
    await session.release();
    referenceForward(config, hashedWeights(out.model, 3), ids).logits[0]!.forEach((row, s) => row.forEach((v, k) => expect(got.logits[s * config.vocabSize + k]).toBeCloseTo(v, 4)));
  });
});
