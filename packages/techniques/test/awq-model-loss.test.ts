import { beforeAll, describe, expect, it } from 'vitest';
import { sampleSequences } from '@distillery/data';
import { calibrationBase, klOnCalibration } from '@distillery/eval';
import type { Model } from '@distillery/onnx';
import { awqParams, awqTechnique, quietContext, rewriteLinear } from '../src';
import { selectLinearLayers } from '../src/kit/select-linear';
import { targetOf } from '../src/kit/rewrite-linear';
import { inputGroups } from '../src/quantize/input-scaling';
import { splitGroupWeights } from '../src/quantize/awq-block-loss';
import { openModelLoss } from '../src/quantize/awq-model-loss';
import { tinyCorpus, trainTinyModel } from './finetune-tiny-lm';

describe('AWQ model objective', () => {
  let model: Model;
  let calib: Int32Array[];
  beforeAll(async () => {
    model = await trainTinyModel(100);
    calib = sampleSequences(tinyCorpus().train, 4, 48, 5);
  });

  it("scores a group's effective weights as the KL of the model with only that group rewritten", async () => {
    const sel = selectLinearLayers(model);
    const group = inputGroups(sel.selected).find((g) => g.layers.length === 3)!; // q/k/v of a block
    const cols = group.layers.reduce((c, l) => c + l.layer.outFeatures, 0);
    const base = new Float32Array(group.inFeatures * cols);
    let off = 0;
    for (const l of group.layers) {
      const v = targetOf(l).values;
      for (let r = 0; r < group.inFeatures; r++) base.set(v.subarray(r * l.layer.outFeatures, (r + 1) * l.layer.outFeatures), r * cols + off);
      off += l.layer.outFeatures;
    }
    const changed = Float32Array.from(base, (v, i) => v * (1 + 0.3 * Math.sin(i)));
    const loss = await openModelLoss(model, sel.selected, calib);
    try {
      expect(await loss.loss(group, base)).toBeLessThan(1e-7);
      const got = await loss.loss(group, changed);
      // The slow way: the group's layers rewritten as dense float weights, the model scored against the base.
      const parts = splitGroupWeights(group, changed);
      const rewritten = await rewriteLinear(model, { technique: 't', layers: group.layers, ctx: quietContext(), method: (t) => ({ kind: 'dense', values: parts[group.layers.findIndex((l) => l.name === t.name)]! }) });
      const want = (await klOnCalibration(await calibrationBase(model, calib), rewritten.model, calib)).kl;
      expect(want).toBeGreaterThan(1e-4);
      expect(got / want).toBeCloseTo(1, 3);
    } finally {
      await loss.release();
    }
  });

  it('runs as an objective of quantize.awq and records an α per layer', async () => {
    const out = await awqTechnique.apply(model, awqParams.parse({ bits: 4, groupSize: 16, objective: 'model', blockSequences: 2, gridPoints: 4 }), quietContext({ calibration: { sequences: calib } }));
    const alphas = JSON.parse(out.report.alphas as string) as Record<string, number>;
    expect(Object.keys(alphas)).toHaveLength(out.report.layersRewritten as number);
    expect(Object.values(alphas).every((a) => [0, 0.25, 0.5, 0.75, 1].includes(a))).toBe(true);
  });
});
