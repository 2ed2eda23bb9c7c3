import { beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderWeightShapes, decoderWeightsFromModel, isBlockLinearWeight } from '@distillery/nn';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import {
  CanceledError,
  finetuneQat,
  finetuneRecover,
  parseRecipe,
  qatParams,
  quantizeBlockLinears,
  quantizeRtnInt8,
  recoverParams,
  rtnInt8Params,
  writeQuantizedWeights,
  quietContext,
} from '../src';
import { modelPerplexity } from '@distillery/eval';
import { ctxWith, testPerplexity, tinyConfig, tinyCorpus, trainTinyModel, pruneHalf } from './finetune-tiny-lm';

let base: Model;
beforeAll(async () => {
  // Trained long enough that 4-bit rounding costs something (after 300 steps it cost nothing measurable).
  base = await trainTinyModel(1000);
});

const zerosOf = (m: Model) => new Map([...decoderWeightsFromModel(m).weights].filter(([n]) => isBlockLinearWeight(n)).map(([n, w]) => [n, w.map((v) => (v === 0 ? 1 : 0))]));

describe('finetune.recover', () => {
  it('keeps exactly-zero weights at zero and recovers perplexity after pruning', async () => {
    const pruned = pruneHalf(base);
    const out = await finetuneRecover(pruned, recoverParams.parse({ steps: 60, lr: 2e-3, seqLen: 64, seed: 3 }), ctxWith());
    const before = zerosOf(pruned);
    const after = decoderWeightsFromModel(out.model).weights;
    let zeros = 0;
    for (const [name, z] of before) {
      const w = after.get(name)!;
      z.forEach((isZero, i) => {
        if (isZero) {
          zeros++;
          expect(w[i]).toBe(0);
        }
      });
      // Surviving weights did train.
      expect(w.some((v, i) => !z[i] && v !== decoderWeightsFromModel(pruned).weights.get(name)![i])).toBe(true);
    }
    expect(zeros).toBe(out.report.zeroWeightsKept);
    expect(out.report.maskedWeights).toBe(before.size);
    const [pb, pp, pr] = [await testPerplexity(base), await testPerplexity(pruned), await testPerplexity(out.model)];
    console.log(`recover: dense ${pb.toFixed(2)}, pruned ${pp.toFixed(2)}, recovered ${pr.toFixed(2)}`);
    expect(pr).toBeLessThan(pp);
  });

  it('finetune.qat refuses an already-quantized model, pointing to finetune.recover', async () => {
    const int8 = (await quantizeRtnInt8(base, rtnInt8Params.parse({}), ctxWith())).model;
    await expect(finetuneQat(int8, qatParams.parse({}), ctxWith())).rejects.toThrow(/already.*finetune\.recover/);
  });

  it('keeps float16 storage and cancels with CanceledError', async () => {
    const { config, weights } = decoderWeightsFromModel(base);
    const half = buildDecoder(config, weights, { weightDtype: 'float16' });
    const out = await finetuneRecover(half, recoverParams.parse({ steps: 2, seqLen: 32 }), ctxWith());
    expect(out.model.graph.initializers.find((t) => t.name === 'model.norm.weight')!.dtype).toBe('float16');
    const ac = new AbortController();
    ac.abort();
    await expect(finetuneRecover(base, recoverParams.parse({ steps: 5, seqLen: 32 }), ctxWith({ signal: ac.signal }))).rejects.toBeInstanceOf(CanceledError);
  });

  it('reports the loss curve and held-out perplexity points through onMetric', async () => {
    const points: { name: string; step: number; value: number }[] = [];
    const held = tinyCorpus().test;
    const ctx = ctxWith({ evalTokens: held, onMetric: (name, step, value) => points.push({ name, step, value }) });
    const out = await finetuneRecover(base, recoverParams.parse({ steps: 8, seqLen: 32 }), ctx);
    expect(points.filter((p) => p.name === 'train.loss').map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const heldOut = points.filter((p) => p.name === 'train.heldout.perplexity');
    expect(heldOut.map((p) => p.step)).toEqual([2, 4, 6, 8]);
    // The last point is the returned model's perplexity on those tokens (first 4096, window = seqLen).
    const expected = (await modelPerplexity(out.model, held.subarray(0, 4096), { window: 32 })).perplexity;
    expect(heldOut[3]!.value).toBeCloseTo(expected, 3);
  });

  it('validation errors name the field', () => {
    expect(() => parseRecipe({ steps: [{ technique: 'finetune.recover', params: { lr: -1 } }] })).toThrow(/steps\[0\]\.params\.lr: lr must be positive/);
    expect(() => parseRecipe({ steps: [{ technique: 'finetune.qat', params: { bits: 8 } }] })).toThrow(/steps\[0\]\.params\.bits/);
    expect(() => parseRecipe({ steps: [{ technique: 'finetune.qat', params: { groupSize: 0 } }] })).toThrow(/steps\[0\]\.params\.groupSize/);
  });
});

describe('finetune.qat', () => {
  /** Plain round-to-nearest 4-bit of the same layers with the same quantizer, no training. */
  async function rtn4(model: Model, groupSize?: number): Promise<Model> {
    const { config, weights } = decoderWeightsFromModel(model);
    const q = quantizeBlockLinears(weights, decoderWeightShapes(config), { bits: 4, groupSize, clipRatio: 1 });
    return (await writeQuantizedWeights(model, q, { technique: 'test', ctx: quietContext() })).model;
  }

  it('closes more of the 4-bit gap than plain rounding, also after the same float fine-tuning', async () => {
    const steps = { steps: 100, lr: 3e-4, seqLen: 64, seed: 5 };
    const qat = await finetuneQat(base, qatParams.parse(steps), ctxWith());
    // Control: the same steps of plain fine-tuning, then rounding, so QAT is not credited for extra training.
    const tuned = (await finetuneRecover(base, recoverParams.parse(steps), ctxWith())).model;
    const [pf, pr, pt, pq] = [await testPerplexity(base), await testPerplexity(await rtn4(base)), await testPerplexity(await rtn4(tuned)), await testPerplexity(qat.model)];
    console.log(`qat: float ${pf.toFixed(2)}, rtn4 ${pr.toFixed(2)}, finetune+rtn4 ${pt.toFixed(2)}, qat int4 ${pq.toFixed(2)}`);
    expect(pq).toBeLessThan(pr);
    expect(pq).toBeLessThan(pt * 0.995);
    expect(pq - pf).toBeLessThan(0.5 * (pr - pf));
    // The emitted model really is int4: DequantizeLinear on packed int4 at opset 21, an eighth of the float bytes plus scales.
    const int4 = qat.model.graph.initializers.filter((t) => t.dtype === 'int4');
    expect(int4).toHaveLength(7 * tinyConfig.nLayers);
    expect(qat.model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(7 * tinyConfig.nLayers);
    expect(qat.model.opsetImports.find((o) => o.domain === '')!.version).toBe(21);
    expect(Math.max(...int4.flatMap((t) => Array.from(tensorToFloat32(t)).map(Math.abs)))).toBeLessThanOrEqual(8);
    expect(qat.report.weightBytesAfter).toBeLessThan((qat.report.weightBytesBefore as number) / 6);
  });

  it('per-group scales (blocked DequantizeLinear) run in ORT and round no worse than per channel', async () => {
    const [pc, pg] = [await testPerplexity(await rtn4(base)), await testPerplexity(await rtn4(base, 16))];
    expect(pg).toBeLessThan(pc * 1.01);
    const out = await finetuneQat(base, qatParams.parse({ steps: 5, seqLen: 32, groupSize: 16 }), ctxWith());
    const dq = out.model.graph.nodes.find((n) => n.opType === 'DequantizeLinear')!;
    expect(dq.attributes.block_size).toEqual({ type: 'int', value: 16 });
    expect(Number.isFinite(await testPerplexity(out.model))).toBe(true);
    await expect(finetuneQat(base, qatParams.parse({ groupSize: 24 }), ctxWith())).rejects.toThrow(/groupSize 24 does not divide/);
  });
});
