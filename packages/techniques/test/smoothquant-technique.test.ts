import { beforeAll, describe, expect, it } from 'vitest';
import { makeTensor, roundHalfEven, tensorToFloat32, type Model, type Tensor } from '@distillery/onnx';
import { sampleSequences } from '@distillery/data';
import { calibrationBase, createSession, decoderIo, emptyPastFeeds, klOnCalibration, tokenFeeds } from '@distillery/eval';
import { dynamicInt8, MATMUL_INTEGER_WEIGHT_SPEC, quietContext, smoothQuantParams, smoothQuantTechnique } from '../src';
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

  it("writes 7-bit weight codes and ORT's MatMulInteger equals the exact integer arithmetic on every layer", async () => {
    // On CPUs without VNNI, ORT's uint8 x int8 kernel adds product pairs in int16; 8-bit codes saturated it.
    expect(MATMUL_INTEGER_WEIGHT_SPEC).toEqual({ bits: 7, symmetric: true });
    const smooth = (await smoothQuantTechnique.apply(model, smoothQuantParams.parse({}), quietContext({ calibration: { sequences: calib } }))).model;
    const g = smooth.graph;
    const inits = new Map(g.initializers.map((t) => [t.name, t]));
    const mmis = g.nodes.filter((n) => n.opType === 'MatMulInteger');
    // Each layer's float input (before DynamicQuantizeLinear) and float output (after the scale Mul) as graph outputs.
    const layers = mmis.map((mmi) => {
      const dql = g.nodes.find((n) => n.opType === 'DynamicQuantizeLinear' && n.outputs[0] === mmi.inputs[0])!;
      const out = g.nodes.find((n) => n.name === `${mmi.name}/Mul`)!;
      return { name: mmi.name, input: dql.inputs[0]!, output: out.outputs[0]!, w: inits.get(mmi.inputs[1]!)!, scales: tensorToFloat32(inits.get(mmi.inputs[1]!.replace(/_quantized$/, '_scale'))!) };
    });
    const probe: Model = { ...smooth, graph: { ...g, outputs: [...g.outputs, ...layers.flatMap((l) => [l.input, l.output].filter((v) => !g.outputs.some((o) => o.name === v)).map((name) => ({ name, dtype: 'float32' as const })))] } };
    const session = await createSession(probe);
    let worst = 0;
    try {
      const io = decoderIo(session, new Set(), { checkOutputs: false });
      const seq = held[0]!;
      const res = await session.run({ ...tokenFeeds(io, seq, 1, seq.length), ...emptyPastFeeds(io, 1) }, layers.flatMap((l) => [l.input, l.output]));
      for (const l of layers) {
        const [k, n] = l.w.dims as [number, number];
        const codes = new Int8Array(l.w.raw.buffer, l.w.raw.byteOffset, k * n);
        expect(Math.max(...Array.from(codes, Math.abs))).toBe(63); // symmetric 7-bit: -63..63
        const x = res[l.input]!.data as Float32Array;
        const got = res[l.output]!.data as Float32Array;
        const rows = x.length / k;
        // DynamicQuantizeLinear (ONNX spec): range widened to include 0, uint8, zero point rounded half to even.
        let lo = 0;
        let hi = 0;
        for (const v of x) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
        const sx = Math.fround((hi - lo) / 255);
        const zx = Math.min(255, Math.max(0, roundHalfEven(-lo / sx)));
        const xq = Int32Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(v / sx) + zx)) - zx);
        let scale = 0;
        const want = new Float64Array(rows * n);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < n; c++) {
            let acc = 0; // exact: integers well inside 2^53
            for (let j = 0; j < k; j++) acc += xq[r * k + j]! * codes[j * n + c]!;
            want[r * n + c] = acc * Math.fround(sx * l.scales[c]!);
            scale = Math.max(scale, Math.abs(want[r * n + c]!));
          }
        let err = 0;
        for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
        worst = Math.max(worst, err / scale);
      }
    } finally {
      await session.release();
    }
    expect(layers.length).toBe(15);
    expect(worst).toBeLessThan(1e-5);
  });

  it('needs calibration data', async () => {
    await expect(smoothQuantTechnique.apply(model, smoothQuantParams.parse({}), quietContext())).rejects.toThrow(/quantize.smoothquant needs calibration data/);
  });
});
