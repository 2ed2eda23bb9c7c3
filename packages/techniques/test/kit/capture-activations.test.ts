import { describe, expect, it } from 'vitest';
import { causalLm, createSession } from '@distillery/eval';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { captureActivations, probeModel, selectLinearLayers } from '../../src';

const config = decoderPreset('tiny');
const model = buildDecoder(config, initDecoderWeights(config, 5, 0.3), { weightDtype: 'float16' });
const sequences = [Int32Array.from({ length: 12 }, (_, i) => (i * 7 + 3) % 96), Int32Array.from({ length: 9 }, (_, i) => (i * 13 + 1) % 96)];

/** Slow reference: fetch each raw activation X [rows, in] and reduce it in float64 JavaScript. */
async function slowStats(m: Model, value: string, inFeatures: number) {
  const exposed: Model = { ...m, graph: { ...m.graph, outputs: [...m.graph.outputs, { name: value, dtype: 'float32', shape: null as never }] } };
  const session = await createSession(exposed);
  const gram = new Float64Array(inFeatures * inFeatures);
  const sumAbs = new Float64Array(inFeatures);
  const absMax = new Float64Array(inFeatures);
  let count = 0;
  try {
    for (const seq of sequences) {
      const x = (await causalLm(session).outputs(seq, [value]))[value]!.data as Float32Array;
      const rows = x.length / inFeatures;
      count += rows;
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < inFeatures; i++) {
          sumAbs[i] += Math.abs(x[r * inFeatures + i]!);
          absMax[i] = Math.max(absMax[i]!, Math.abs(x[r * inFeatures + i]!));
          for (let j = 0; j < inFeatures; j++) gram[i * inFeatures + j] += x[r * inFeatures + i]! * x[r * inFeatures + j]!;
        }
      }
    }
  } finally {
    await session.release();
  }
  return { gram, sumAbs, absMax, count };
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
      ref.absMax.forEach((v, i) => expect(got.absMax[i]).toBeCloseTo(v, 5));
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

  it('runs only what the probed values depend on: capturing block 0 leaves out later blocks, the head and the cache outputs', async () => {
    const { selected } = selectLinearLayers(model, { blocks: [0] });
    const value = selected.find((l) => l.role === 'down')!.layer.matmuls[0]!.inputs[0]!;
    const probe = probeModel(model, [{ value, inFeatures: config.ffnSize, outputs: { sumAbs: 's', sumSq: 'q', absMax: 'm', rows: 'r' } }], false);
    expect(probe.graph.outputs.map((o) => o.name)).toEqual(['s', 'q', 'm', 'r']);
    const names = probe.graph.nodes.map((n) => n.name);
    expect(names.some((n) => n.includes('layers.0/mlp'))).toBe(true);
    expect(names.filter((n) => n.includes('layers.1') || n.includes('lm_head') || n.includes('down_proj'))).toEqual([]);
    expect(probe.graph.nodes.length).toBeLessThan(model.graph.nodes.length);
    // The cut graph's statistics equal the reference's.
    const stats = await captureActivations(model, selected, { sequences });
    const ref = await slowStats(model, value, config.ffnSize);
    ref.sumAbs.forEach((v, i) => expect(stats.get(selected.find((l) => l.role === 'down')!.name)!.sumAbs[i]).toBeCloseTo(v, 3));
  });
});
