import { beforeAll, describe, expect, it } from 'vitest';
import { makeTensor, tensorToFloat32, type Model, type Tensor } from '@distillery/onnx';
import { sampleSequences } from '@distillery/data';
import { calibrationBase, klOnCalibration } from '@distillery/eval';
import { dynamicInt8, quietContext, smoothQuantParams, smoothQuantTechnique } from '../src';
import { tinyCorpus, trainTinyModel } from './finetune-tiny-lm';

/**
 * The same function with activation outliers: a few channels of each norm weight times 40,
 * the rows of the weights reading them divided by 40 (what trained LLMs look like, §3).
 */
function withOutliers(model: Model): Model {
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const edited = new Map<string, Tensor>();
  const scaleRows = (name: string, channels: number[], f: number) => {
    const t = edited.get(name) ?? byName.get(name)!;
    const v = tensorToFloat32(t);
    const cols = t.dims.length === 2 ? t.dims[1]! : 1;
    for (const j of channels) for (let c = 0; c < cols; c++) v[j * cols + c]! *= f;
    edited.set(name, makeTensor(name, 'float32', [...t.dims], v));
  };
  for (const b of [0, 1]) {
    const p = `model.layers.${b}`;
    scaleRows(`${p}.input_layernorm.weight`, [3, 17], 40);
    for (const w of ['q_proj', 'k_proj', 'v_proj']) scaleRows(`${p}.self_attn.${w}.weight`, [3, 17], 1 / 40);
    scaleRows(`${p}.post_attention_layernorm.weight`, [5, 20], 40);
    for (const w of ['gate_proj', 'up_proj']) scaleRows(`${p}.mlp.${w}.weight`, [5, 20], 1 / 40);
  }
  return { ...model, graph: { ...model.graph, initializers: model.graph.initializers.map((t) => edited.get(t.name) ?? t) } };
}

describe('quantize.smoothquant', () => {
  let model: Model;
  let calib: Int32Array[];
  let held: Int32Array[];
  beforeAll(async () => {
    model = withOutliers(await trainTinyModel(300));
    calib = sampleSequences(tinyCorpus().train, 8, 64, 21);
    held = sampleSequences(tinyCorpus().test, 8, 64, 22);
  });

  it('W8A8 with smoothing diverges less from the base than plain dynamic int8 when activations have outlier channels', async () => {
    const base = await calibrationBase(model, held);
    const ctx = quietContext({ calibration: { sequences: calib } });
    const smooth = await smoothQuantTechnique.apply(model, smoothQuantParams.parse({}), ctx);
    const plain = await dynamicInt8.apply(model, dynamicInt8.params.parse({}), ctx);
    const kSmooth = (await klOnCalibration(base, smooth.model, held)).kl;
    const kPlain = (await klOnCalibration(base, plain.model, held)).kl;
    expect(kSmooth).toBeLessThan(0.7 * kPlain);
    expect(smooth.model.graph.nodes.filter((n) => n.opType === 'MatMulInteger')).toHaveLength(smooth.report.layersRewritten as number);
    expect(smooth.report.foldedIntoNorm).toBe(5); // q/k/v and gate/up of both blocks, and the LM head after the final norm
  });

  it('needs calibration data', async () => {
    await expect(smoothQuantTechnique.apply(model, smoothQuantParams.parse({}), quietContext())).rejects.toThrow(/quantize.smoothquant needs calibration data/);
  });
});
