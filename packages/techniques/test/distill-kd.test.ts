import { beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderWeightsFromModel, parameterCount, readDecoderConfig } from '@distillery/nn';
import { tensorToFloat32, type Model } from '@distillery/onnx';
import { CanceledError, distillKd, kdParams, parseRecipe, type KdParams } from '../src';
import { ctxWith, testPerplexity, trainTinyModel } from './finetune-tiny-lm';

const student = { layers: 1, hiddenSize: 16, heads: 2, kvHeads: 1, ffnSize: 32 };
const run = { steps: 300, batchSize: 8, seqLen: 64, lr: 3e-3, warmup: 10, seed: 7 };

let teacher: Model;
beforeAll(async () => {
  teacher = await trainTinyModel(400);
});

const params = (p: Record<string, unknown>): KdParams => kdParams.parse({ student, ...run, ...p });

describe('distill.kd on a tiny teacher', () => {
  it('the KD student has lower test perplexity than the same student trained from scratch on hard labels', async () => {
    const metrics: number[] = [];
    // T = 1: at this scale and step budget softer targets (T = 2) only catch up later (measured: 150 steps lose, 300 win).
    const kd = await distillKd(teacher, params({ loss: { alpha: 0.8, temperature: 1 } }), ctxWith({ onMetric: (name, _s, v) => name === 'train.loss' && metrics.push(v) }));
    const scratch = await distillKd(teacher, params({ loss: { alpha: 0 } }), ctxWith());
    const [pt, pk, ps] = [await testPerplexity(teacher), await testPerplexity(kd.model), await testPerplexity(scratch.model)];
    console.log(`test perplexity: teacher ${pt.toFixed(2)}, KD student ${pk.toFixed(2)}, scratch student ${ps.toFixed(2)}`);
    expect(pk).toBeLessThan(ps * 0.97);
    expect(pt).toBeLessThan(pk);
    expect(metrics).toHaveLength(run.steps);
    expect(kd.report.steps).toBe(run.steps);
    expect(kd.report.studentParams).toBe(parameterCount(readDecoderConfig(kd.model)!));
    expect(kd.report.studentParams).toBeLessThan(kd.report.teacherParams as number);
    expect(readDecoderConfig(kd.model)).toMatchObject({ nLayers: 1, hiddenSize: 16, nHeads: 2, nKvHeads: 1, headDim: 8, ffnSize: 32 });
  });

  it('reverse KL, hidden-state MSE and the top-k cache all train a student that beats the untrained one', async () => {
    const untrained = await testPerplexity((await distillKd(teacher, params({ steps: 1, lr: 1e-9 }), ctxWith())).model);
    for (const p of [
      { loss: { direction: 'reverse' } },
      { loss: { hiddenMse: { weight: 0.5 } } },
      { teacherCache: { topK: 8 } },
    ]) {
      const out = await distillKd(teacher, params({ ...p, steps: 60 }), ctxWith());
      const ppl = await testPerplexity(out.model);
      expect(ppl, JSON.stringify(p)).toBeLessThan(untrained * 0.7);
      expect(Number.isFinite(out.report.finalLoss)).toBe(true);
    }
  });

  it('copy-layers starts from the teacher blocks (depth pruning) and refuses a narrower student', async () => {
    const pruned = await distillKd(teacher, params({ student: { layers: 1 }, init: 'copy-layers', steps: 1, lr: 1e-9 }), ctxWith());
    expect(pruned.report.copiedLayers).toBe('0');
    // One step at lr 1e-9 moves weights by ~1e-9 only: they are the teacher's.
    const weight = (m: Model, name: string) => tensorToFloat32(m.graph.initializers.find((t) => t.name === name)!);
    for (const [s, t] of [['lm_head.weight', 'lm_head.weight'], ['model.layers.0.mlp.down_proj.weight', 'model.layers.0.mlp.down_proj.weight']]) {
      const a = weight(pruned.model, s!);
      const b = weight(teacher, t!);
      expect(a.length).toBe(b.length);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-6);
    }
    const two = await distillKd(teacher, params({ student: { layers: 2 }, init: 'copy-layers', steps: 1, lr: 1e-9 }), ctxWith());
    expect(two.report.copiedLayers).toBe('0,1');
    await expect(distillKd(teacher, params({ init: 'copy-layers' }), ctxWith())).rejects.toThrow(/student\.hiddenSize 16 != 32/);
  });

  it('stores the student as the teacher is stored (float16 teacher, float16 student)', async () => {
    const { config, weights } = decoderWeightsFromModel(teacher);
    const half = buildDecoder(config, weights, { weightDtype: 'float16' });
    const out = await distillKd(half, params({ student: { layers: 1 }, init: 'copy-layers', steps: 1, lr: 1e-9 }), ctxWith());
    const norm = out.model.graph.initializers.find((t) => t.name === 'model.norm.weight');
    expect(norm?.dtype).toBe('float16');
    expect(decoderWeightsFromModel(out.model).weightDtype).toBe('float16');
  });

  it('cancels between steps with CanceledError', async () => {
    const ac = new AbortController();
    const ctx = ctxWith({ signal: ac.signal, onMetric: (_n, step) => step === 3 && ac.abort() });
    await expect(distillKd(teacher, params({ steps: 50 }), ctx)).rejects.toBeInstanceOf(CanceledError);
  });

  it('needs training tokens', async () => {
    await expect(distillKd(teacher, params({}), ctxWith({ trainingTokens: undefined }))).rejects.toThrow(/ctx\.trainingTokens/);
  });
});

describe('distill.kd parameters', () => {
  it('validation errors name the field', () => {
    const bad = (p: Record<string, unknown>) => () => parseRecipe({ steps: [{ technique: 'distill.kd', params: p }] });
    expect(bad({ student: { hiddenSize: 30, heads: 4 } })).toThrow(/steps\[0\]\.params\.student\.heads: heads \(4\) must divide hiddenSize \(30\)/);
    expect(bad({ student: { heads: 6, kvHeads: 4 } })).toThrow(/steps\[0\]\.params\.student\.kvHeads/);
    expect(bad({ loss: { alpha: 1.5 } })).toThrow(/steps\[0\]\.params\.loss\.alpha/);
    expect(bad({ init: 'clone' })).toThrow(/steps\[0\]\.params\.init/);
    expect(bad({ steps: 0 })).toThrow(/steps\[0\]\.params\.steps: steps must be positive/);
    expect(bad({ teacherCache: { topK: 4 }, loss: { hiddenMse: { weight: 1 } } })).toThrow(/steps\[0\]\.params\.teacherCache/);
  });

  it('applies defaults and checks defaulted fields against the teacher at run time', async () => {
    const p = kdParams.parse({});
    expect(p.loss).toEqual({ alpha: 0.5, temperature: 2, direction: 'forward' });
    expect(p.init).toBe('random');
    // heads defaults to the teacher's 4, which does not divide hiddenSize 18.
    await expect(distillKd(teacher, kdParams.parse({ student: { hiddenSize: 18 } }), ctxWith())).rejects.toThrow(/student\.heads: .*defaulted from the teacher/);
  });
});
