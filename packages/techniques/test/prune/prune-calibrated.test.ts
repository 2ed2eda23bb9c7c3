import { beforeAll, describe, expect, it } from 'vitest';
import { sampleSequences } from '@distillery/data';
import { buildDecoder, decoderWeightsFromModel, isBlockLinearWeight } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { magnitudeParams, pruneMagnitude, pruneSparseGpt, pruneWanda, quietContext, sparseGptParams, wandaParams } from '../../src';
import { testPerplexity, tinyConfig, tinyCorpus, trainTinyModel } from '../finetune-tiny-lm';

let base: Model;
const calibration = () => ({ sequences: sampleSequences(tinyCorpus().train, 16, 64, 3) });
const ctx = () => quietContext({ calibration: calibration() });

function blockWeights(model: Model): Map<string, Float32Array> {
  return new Map([...decoderWeightsFromModel(model).weights].filter(([n]) => isBlockLinearWeight(n)));
}

beforeAll(async () => {
  base = await trainTinyModel(300);
});

describe('prune.wanda and prune.sparsegpt on a trained model', () => {
  it('50% unstructured: exact sparsity per output (Wanda) and per layer (SparseGPT); SparseGPT beats magnitude on held-out perplexity', async () => {
    const mag = await pruneMagnitude(base, magnitudeParams.parse({ sparsity: 0.5 }), quietContext());
    const wanda = await pruneWanda(base, wandaParams.parse({ sparsity: 0.5 }), ctx());
    const sgpt = await pruneSparseGpt(base, sparseGptParams.parse({ sparsity: 0.5 }), ctx());
    for (const [name, w] of blockWeights(wanda.model)) {
      const cols = name.includes('down_proj') || name.includes('o_proj') ? tinyConfig.hiddenSize : w.length / tinyConfig.hiddenSize;
      for (let c = 0; c < cols; c++) {
        let z = 0;
        for (let r = 0; r < w.length / cols; r++) z += w[r * cols + c] === 0 ? 1 : 0;
        expect(z).toBe(w.length / cols / 2);
      }
    }
    for (const w of blockWeights(sgpt.model).values()) expect(w.reduce((z, v) => z + (v === 0 ? 1 : 0), 0)).toBe(w.length / 2);
    expect(sgpt.report.sequential).toBe('yes');
    expect(sgpt.report.sparsity).toBe(0.5);
    expect(await testPerplexity(sgpt.model)).toBeLessThan(await testPerplexity(mag.model));
    // All layers from the dense model's activations: the same exact target.
    const oneShot = await pruneSparseGpt(base, sparseGptParams.parse({ sparsity: 0.5, sequential: false }), ctx());
    for (const w of blockWeights(oneShot.model).values()) expect(w.reduce((z, v) => z + (v === 0 ? 1 : 0), 0)).toBe(w.length / 2);
  });

  it('Wanda keeps the weights of an input channel with large activations, which magnitude prunes', async () => {
    // Channel 5 of layer 0's attention input is scaled 100x by its RMSNorm gain: an activation outlier.
    const { config, weights } = decoderWeightsFromModel(base);
    weights.get('model.layers.0.input_layernorm.weight')![5]! *= 100;
    const outlier = buildDecoder(config, weights);
    const row = (m: Model) => {
      const w = decoderWeightsFromModel(m).weights.get('model.layers.0.self_attn.q_proj.weight')!;
      return Array.from(w.subarray(5 * config.hiddenSize, 6 * config.hiddenSize));
    };
    const wanda = await pruneWanda(outlier, wandaParams.parse({ sparsity: 0.5 }), ctx());
    const mag = await pruneMagnitude(outlier, magnitudeParams.parse({ sparsity: 0.5 }), quietContext());
    const zeros = (m: Model) => row(m).filter((v) => v === 0).length;
    expect(zeros(mag.model)).toBeGreaterThan(5);
    expect(zeros(wanda.model)).toBeLessThanOrEqual(1);
    // The report shows the difference: the outlier layer's diagonal output error falls well below magnitude's.
    expect(wanda.report.diagErrorVsMagnitudeMin).toBeLessThan(0.5);
    expect(wanda.report.maskDiffersFromMagnitude).toBeGreaterThan(0);
    expect(wanda.report.maskDiffersFromMagnitude).toBeLessThan(1);
  });

  it('2:4 for both: N:M valid in every group; SparseGPT moves the kept weights, Wanda does not', async () => {
    const original = blockWeights(base);
    for (const [apply, updates] of [
      [() => pruneWanda(base, wandaParams.parse({ pattern: '2:4' }), ctx()), false],
      [() => pruneSparseGpt(base, sparseGptParams.parse({ pattern: '2:4' }), ctx()), true],
    ] as const) {
      const out = await apply();
      let moved = 0;
      for (const [name, w] of blockWeights(out.model)) {
        const cols = name.includes('down_proj') || name.includes('o_proj') ? tinyConfig.hiddenSize : w.length / tinyConfig.hiddenSize;
        for (let c = 0; c < cols; c++) for (let r0 = 0; r0 < w.length / cols; r0 += 4) {
          let kept = 0;
          for (let i = 0; i < 4; i++) kept += w[(r0 + i) * cols + c] !== 0 ? 1 : 0;
          expect(kept).toBe(2);
        }
        const o = original.get(name)!;
        for (let i = 0; i < w.length; i++) if (w[i] !== 0 && w[i] !== o[i]) moved++;
      }
      if (updates) expect(moved).toBeGreaterThan(0);
      else expect(moved).toBe(0);
      expect(out.report.target).toBe('2:4');
    }
  });

  it('needs calibration data, saying so', async () => {
    await expect(pruneWanda(base, wandaParams.parse({ sparsity: 0.5 }), quietContext())).rejects.toThrow(/prune.wanda needs calibration data/);
    await expect(pruneSparseGpt(base, sparseGptParams.parse({ sparsity: 0.5 }), quietContext())).rejects.toThrow(/prune.sparsegpt needs calibration data/);
  });
});
