import { describe, expect, it } from 'vitest';
import { causalLm, createSession } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { captureActivations, selectLinearLayers } from '../../src';

const config = decoderPreset('tiny');
const model = buildDecoder(config, initDecoderWeights(config, 5, 0.3), { weightDtype: 'float16' });
const sequences = [Int32Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 96), Int32Array.from({ length: 9 }, (_, i) => (i * 13 + 1) % 96)];

/** Slow reference: fetch each raw activation X [rows, in] and reduce it in float64 JavaScript. */
async function slowStats(m: Model, value: string, inFeatures: number) {
  const exposed: Model = { ...m, graph: { ...m.graph, outputs: [...m.graph.outputs, { name: value, dtype: 'float32', shape: null as never }] } };
  const session = await createSession(exposed);
  const gram = new Float64Array(inFeatures * inFeatures);
  const sumAbs = new Float64Array(inFeatures);
  let count = 0;
  try {
    for (const seq of sequences) {
      const x = (await causalLm(session).outputs(seq, [value]))[value]!.data as Float32Array;
      const rows = x.length / inFeatures;
      count += rows;
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < inFeatures; i++) {
          sumAbs[i] += Math.abs(x[r * inFeatures + i]!);
          for (let j = 0; j < inFeatures; j++) gram[i * inFeatures + j] += x[r * inFeatures + i]! * x[r * inFeatures + j]!;
        }
      }
    }
  } finally {
    await session.release();
  }
  return { gram, sumAbs, count };
}

describe('captureActivations', () => {
  it('returns per-layer X^T X, sum |x| and sum x^2 computed in ORT, equal to a float64 reference', async () => {
    const { selected } = selectLinearLayers(model);
    expect(selected).toHaveLength(2 * 7 + 1);
    const stats = await captureActivations(model, selected, { sequences }, { gram: true });
    expect(stats.size).toBe(selected.length);
    for (const name of ['/model/layers.0/self_attn/q_proj/MatMul', '/model/layers.1/mlp/down_proj/MatMul', '/lm_head/MatMul']) {
      const l = selected.find((s) => s.name === name)!;
      const got = stats.get(name)!;
      const ref = await slowStats(model, l.layer.matmuls[0]!.inputs[0]!, l.layer.inFeatures);
      expect(got.count).toBe(12 + 9);
      expect(got.count).toBe(ref.count);
      const scale = Math.max(...ref.gram.map(Math.abs));
      ref.gram.forEach((v, i) => expect(Math.abs(got.gram![i]! - v)).toBeLessThanOrEqual(1e-5 * scale));
      ref.sumAbs.forEach((v, i) => expect(got.sumAbs[i]).toBeCloseTo(v, 3));
      // sum x^2 is the Gram diagonal.
      got.sumSq.forEach((v, i) => expect(v).toBeCloseTo(ref.gram[i * l.layer.inFeatures + i]!, 3));
    }
    // q, k and v read the same activation and share one capture.
    expect(stats.get('/model/layers.0/self_attn/k_proj/MatMul')).toBe(stats.get('/model/layers.0/self_attn/q_proj/MatMul'));
  });

  it('skips the Gram matrix unless asked, and refuses an empty calibration set', async () => {
    const { selected } = selectLinearLayers(model, { roles: ['down'] });
    const stats = await captureActivations(model, selected, { sequences });
    expect(stats.get('/model/layers.0/mlp/down_proj/MatMul')!.gram).toBeUndefined();
    await expect(captureActivations(model, selected, { sequences: [] })).rejects.toThrow(/no sequences/);
  });
});
