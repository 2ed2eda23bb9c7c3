/**
 * Linear layers' weights as graph inputs: each selected layer's MatMuls read a graph input
 * [in, out] in their compute dtype instead of the constant (its Cast or tied-head Transpose
 * is dropped when nothing else reads it), so one ORT session scores any variant of those
 * weights by what it is fed. Per-layer sensitivity feeds the base weights with one layer
 * changed per probe instead of building and loading a model per probe.
 */
import { eliminateDeadCode, float32ToFloat16Array, ort, type Model } from '@distillery/onnx';
import type { SelectedLayer } from './select-linear';

export interface WeightInput {
  layer: SelectedLayer;
  /** The graph input's name. */
  input: string;
  dtype: 'float32' | 'float16';
  inFeatures: number;
  outFeatures: number;
}

export function weightsAsInputs(model: Model, layers: readonly SelectedLayer[]): { model: Model; inputs: WeightInput[] } {
  const byNode = new Map<object, string>();
  const inputs = layers.map((layer, i): WeightInput => {
    const input = `weight_input/${i}`;
    for (const m of layer.layer.matmuls) byNode.set(m, input);
    return { layer, input, dtype: layer.layer.computeDtype, inFeatures: layer.layer.inFeatures, outFeatures: layer.layer.outFeatures };
  });
  const g = model.graph;
  const clash = inputs.find((w) => g.inputs.some((i) => i.name === w.input));
  if (clash) throw new Error(`weightsAsInputs: the model already has an input named ${clash.input}`);
  const graph = {
    ...g,
    nodes: g.nodes.map((n) => {
      const input = byNode.get(n);
      return input === undefined ? n : { ...n, inputs: [n.inputs[0]!, input, ...n.inputs.slice(2)] };
    }),
    inputs: [...g.inputs, ...inputs.map((w) => ({ name: w.input, dtype: w.dtype, shape: [w.inFeatures, w.outFeatures] }))],
  };
  eliminateDeadCode(graph);
  return { model: { ...model, graph }, inputs };
}

/** The tensor to feed for `w`: float32 values [in, out], converted to the input's dtype. */
export function weightFeed(w: WeightInput, values: Float32Array): ort.Tensor {
  if (values.length !== w.inFeatures * w.outFeatures) throw new Error(`${w.layer.name}: ${values.length} values fed for a [${w.inFeatures}, ${w.outFeatures}] weight`);
  const dims = [w.inFeatures, w.outFeatures];
  return w.dtype === 'float16' ? new ort.Tensor('float16', float32ToFloat16Array(values), dims) : new ort.Tensor('float32', values, dims);
}
