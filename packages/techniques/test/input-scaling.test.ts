import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel, type Model } from '@distillery/onnx';
import { causalLm } from '@distillery/eval';
import { applyInputScaling, findScaleSink, type InputGroup } from '../src/quantize/input-scaling';
import { quietContext, rewriteLinear, selectLinearLayers } from '../src';
import { seededUniform } from './mlp-fixture';

async function logits(model: Model, tokens: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return (await causalLm(s).forward(tokens)).logits;
  } finally {
    await s.release();
  }
}

describe('input scaling', () => {
  for (const weightDtype of ['float32', 'float16'] as const) {
    it(`folds 1/s into the norm, the up projection or an explicit Mul and leaves the outputs unchanged (${weightDtype} weights)`, async () => {
      const config = decoderPreset('tiny');
      const model = buildDecoder(config, initDecoderWeights(config, 3), { weightDtype });
      const sel = selectLinearLayers(model, { blocks: [0] });
      const outputs = new Map(sel.selected.flatMap((l) => l.layer.matmuls.map((m) => [m.outputs[0]!, l.layer.weight.name] as const)));
      const groupOf = (roles: string[]): InputGroup => {
        const layers = sel.selected.filter((l) => roles.includes(l.role));
        return { activation: layers[0]!.layer.matmuls[0]!.inputs[0]!, matmuls: layers.flatMap((l) => l.layer.matmuls), inFeatures: layers[0]!.layer.inFeatures };
      };
      const groups = { qkv: groupOf(['q', 'k', 'v']), gateUp: groupOf(['gate', 'up']), down: groupOf(['down']), o: groupOf(['o']) };
      const sinks = Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, findScaleSink(model, g, outputs)]));
      expect(sinks.qkv).toEqual({ kind: 'norm-weight', tensor: 'model.layers.0.input_layernorm.weight' });
      expect(sinks.gateUp).toEqual({ kind: 'norm-weight', tensor: 'model.layers.0.post_attention_layernorm.weight' });
      expect(sinks.down).toEqual({ kind: 'linear-output', weight: 'model.layers.0.mlp.up_proj.weight' });
      expect(sinks.o!.kind).toBe('explicit-mul');
      const scales = Object.fromEntries(Object.entries(groups).map(([k, g], i) => [k, seededUniform(g.inFeatures, 50 + i, 0.9).map((x) => 1 + x)]));
      const scaled = applyInputScaling(
        model,
        Object.entries(groups).map(([k, group]) => ({ group, sink: sinks[k]!, scales: scales[k]!, computeDtype: sel.selected[0]!.layer.computeDtype })),
      );
      const rowScale = new Map(sel.selected.map((l) => [l.name, scales[l.role === 'down' ? 'down' : l.role === 'o' ? 'o' : ['q', 'k', 'v'].includes(l.role) ? 'qkv' : 'gateUp']!]));
      const rewritten = await rewriteLinear(scaled, {
        technique: 'test',
        selection: { blocks: [0] },
        ctx: quietContext(),
        method: (t) => {
          const rs = rowScale.get(t.name)!;
          const cs = t.weightName === 'model.layers.0.mlp.up_proj.weight' ? scales.down! : undefined;
          const v = t.values.map((x, i) => (x * rs[Math.floor(i / t.outFeatures)]!) / (cs ? cs[i % t.outFeatures]! : 1));
          return { kind: 'dense', values: v, dtype: 'float32' };
        },
      });
      expect(rewritten.model.graph.nodes.filter((n) => n.name.endsWith('/InputScale'))).toHaveLength(1);
      const tokens = [5, 17, 3, 60, 44, 2, 9];
      const before = await logits(model, tokens);
      const after = await logits(rewritten.model, tokens);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < before.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(before[i]! - after[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(before[i]!));
      }
      // float16 norm weights are rounded after the division.
      expect(maxDiff / maxAbs).toBeLessThan(weightDtype === 'float16' ? 5e-3 : 1e-5);
    });
  }
});
