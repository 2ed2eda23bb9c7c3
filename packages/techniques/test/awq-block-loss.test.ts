import { beforeAll, describe, expect, it } from 'vitest';
import { sampleSequences } from '@distillery/data';
import { causalLm, createSession } from '@distillery/eval';
import { makeTensor, tensorToFloat32, type Model } from '@distillery/onnx';
import { awqParams, awqTechnique, quietContext } from '../src';
import { selectLinearLayers } from '../src/kit/select-linear';
import { inputGroups, type LayerGroup } from '../src/quantize/input-scaling';
import { blockLoss, blockTarget, captureBlockIo } from '../src/quantize/awq-block-loss';
import { seededUniform } from './mlp-fixture';
import { tinyCorpus, trainTinyModel } from './finetune-tiny-lm';

/** The group's weights side by side [in, Σ out], as the search hands them over. */
function concatenated(group: LayerGroup, perLayer: Float32Array[]): Float32Array {
  const cols = group.layers.reduce((c, l) => c + l.layer.outFeatures, 0);
  const out = new Float32Array(group.inFeatures * cols);
  let off = 0;
  for (const [i, l] of group.layers.entries()) {
    const n = l.layer.outFeatures;
    for (let r = 0; r < group.inFeatures; r++) out.set(perLayer[i]!.subarray(r * n, (r + 1) * n), r * cols + off);
    off += n;
  }
  return out;
}

/** The slow way: the whole model with the group's MatMuls reading the given float32 weights, run per sequence, the block output compared with the float model's. */
async function wholeModelError(model: Model, group: LayerGroup, target: string, perLayer: Float32Array[], sequences: Int32Array[]): Promise<number> {
  const withOutput = (m: Model): Model => ({ ...m, graph: { ...m.graph, outputs: [...m.graph.outputs, { name: target, dtype: 'float32' }] } });
  const initializers = [...model.graph.initializers, ...group.layers.map((l, i) => makeTensor(`ref/w_${i}`, 'float32', [l.layer.inFeatures, l.layer.outFeatures], perLayer[i]!))];
  const matmul = new Map(group.layers.flatMap((l, i) => l.layer.matmuls.map((m) => [m.name, i] as const)));
  const nodes = model.graph.nodes.map((n) => (matmul.has(n.name) ? { ...n, inputs: [n.inputs[0]!, `ref/w_${matmul.get(n.name)!}`] } : n));
  const [base, changed] = await Promise.all([createSession(withOutput(model)), createSession(withOutput({ ...model, graph: { ...model.graph, nodes, initializers } }))]);
  let total = 0;
  for (const seq of sequences) {
    const y0 = (await causalLm(base).outputs(seq, [target]))[target]!.data as Float32Array;
    const y1 = (await causalLm(changed).outputs(seq, [target]))[target]!.data as Float32Array;
    for (let j = 0; j < y0.length; j++) total += (y1[j]! - y0[j]!) ** 2;
  }
  await base.release();
  await changed.release();
  return total;
}

describe('AWQ block objective', () => {
  let model: Model;
  let calib: Int32Array[];
  beforeAll(async () => {
    model = await trainTinyModel(100);
    calib = sampleSequences(tinyCorpus().train, 4, 48, 5);
  });

  it('finds o_proj for q/k/v and down_proj for gate/up, and the cut-out block reproduces the whole model there', async () => {
    const sel = selectLinearLayers(model, { skip: [], minSize: 0, lmHead: true, tiedHead: false });
    const groups = inputGroups(sel.selected);
    const targets = groups.flatMap((group) => {
      const target = blockTarget(group, sel.found);
      return target ? [{ group, target }] : [];
    });
    const blocks = new Set(sel.selected.map((l) => l.block).filter((b) => b !== null));
    expect(targets).toHaveLength(2 * blocks.size);
    for (const { group, target } of targets) expect(target).toMatch(group.layers[0]!.role === 'gate' || group.layers[0]!.role === 'up' ? /down_proj/ : /o_proj/);
    const capture = await captureBlockIo(model, targets, { sequences: calib }, calib.length);
    for (const { group, target } of targets) {
      const weights = group.layers.map((l) => tensorToFloat32(l.layer.weight));
      const loss = await blockLoss(model, group, target, capture.get(group.activation)!);
      try {
        // The float weights give the float output back.
        const same = await loss.loss(concatenated(group, weights));
        // Perturbed weights: the same error as the whole model shows at that output.
        const perturbed = weights.map((w, i) => Float32Array.from(w, (v, j) => v + 0.05 * seededUniform(w.length, 100 + i, 1)[j]!));
        const fast = await loss.loss(concatenated(group, perturbed));
        const slow = await wholeModelError(model, group, target, perturbed, calib);
        expect(same).toBeLessThan(1e-6 * slow);
        expect(slow).toBeGreaterThan(0);
        expect(fast / slow).toBeCloseTo(1, 4);
      } finally {
        await loss.release();
      }
    }
  });

  it('quantize.awq searches q/k/v and gate/up on the block output by default, and the layer objective still runs', async () => {
    const ctx = quietContext({ calibration: { sequences: calib } });
    const grid = { bits: 3, groupSize: 16, symmetric: false, gridPoints: 4, blockSequences: 2 };
    const block = await awqTechnique.apply(model, awqParams.parse(grid), ctx);
    const layer = await awqTechnique.apply(model, awqParams.parse({ ...grid, objective: 'layer' }), ctx);
    expect(block.report.blockObjectiveGroups).toBeGreaterThan(0);
    expect(layer.report.blockObjectiveGroups).toBe(0);
    expect(block.report.layersRewritten).toBe(layer.report.layersRewritten);
  });
});
