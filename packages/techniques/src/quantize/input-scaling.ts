/**
 * Dividing a linear layer group's input by per-channel factors s, as AWQ (Lin et al. 2023,
 * §3.2) and SmoothQuant (Xiao et al. 2022, §4) need after multiplying the weights' rows by
 * s. Where the graph allows, 1/s is folded into the op that makes the input, so the model
 * gains no node (the authors' fold targets for Llama):
 *  - `norm-weight`: the input is Mul(x, γ) with γ a 1-D constant read by nothing else (RMSNorm's
 *    weight, also when stored float16 behind a Cast): γ ← γ / s;
 *  - `linear-output`: the input is Mul(a, y) with y the output of a linear layer that is
 *    rewritten too (SwiGLU's up projection before down_proj): that layer's columns ← · / s;
 *  - otherwise `explicit-mul`: a Mul by the constant 1/s in front of the group's MatMuls.
 * Folding needs every reader of the input to be in the group, or others would see it scaled.
 */
import {
  consumers,
  float32ToFloat16Array,
  makeTensor,
  producerIndex,
  tensorFromNumbers,
  tensorToFloat32,
  type Graph,
  type Model,
  type Node,
  type Tensor,
} from '@distillery/onnx';
import type { SelectedLayer } from '../kit/select-linear';

export type ScaleSink = { kind: 'norm-weight'; tensor: string } | { kind: 'linear-output'; weight: string } | { kind: 'explicit-mul' };

export interface InputGroup {
  /** The activation the group's MatMuls read. */
  activation: string;
  matmuls: Node[];
  inFeatures: number;
}

export interface LayerGroup extends InputGroup {
  layers: SelectedLayer[];
}

/** Selected layers grouped by the activation they read (q/k/v, gate/up); a weight read by MatMuls with different inputs is left out. */
export function inputGroups(layers: readonly SelectedLayer[]): LayerGroup[] {
  const byActivation = new Map<string, LayerGroup>();
  for (const l of layers) {
    const inputs = new Set(l.layer.matmuls.map((m) => m.inputs[0]!));
    if (inputs.size !== 1) continue;
    const activation = [...inputs][0]!;
    let g = byActivation.get(activation);
    if (!g) byActivation.set(activation, (g = { activation, matmuls: [], inFeatures: l.layer.inFeatures, layers: [] }));
    g.layers.push(l);
    g.matmuls.push(...l.layer.matmuls);
  }
  return [...byActivation.values()];
}

const FLOAT32 = 1;

/** The constant a value is, seen through at most one Cast to float32. */
function constantBehind(graph: Graph, value: string, readers: Map<string, Node[]>, produced: Map<string, number>): Tensor | undefined {
  const direct = graph.initializers.find((t) => t.name === value);
  if (direct) return (readers.get(value)?.length ?? 0) === 1 ? direct : undefined;
  const p = produced.get(value);
  const node = p === undefined ? undefined : graph.nodes[p]!;
  if (node?.opType !== 'Cast' || node.attributes.to?.type !== 'int' || node.attributes.to.value !== FLOAT32) return undefined;
  const src = graph.initializers.find((t) => t.name === node.inputs[0]);
  if (!src || (readers.get(src.name)?.length ?? 0) !== 1 || (readers.get(value)?.length ?? 0) !== 1) return undefined;
  return src;
}

/**
 * Where 1/s for this group can go. `rewrittenOutputs` maps the output of each MatMul whose
 * weight the caller rewrites (and can scale by column) to that weight's name.
 */
export function findScaleSink(model: Model, group: InputGroup, rewrittenOutputs: ReadonlyMap<string, string>): ScaleSink {
  const graph = model.graph;
  const readers = consumers(graph);
  const produced = producerIndex(graph);
  const mine = new Set(group.matmuls);
  if (!(readers.get(group.activation) ?? []).every((n) => mine.has(n))) return { kind: 'explicit-mul' };
  if (graph.outputs.some((o) => o.name === group.activation)) return { kind: 'explicit-mul' };
  const p = produced.get(group.activation);
  const node = p === undefined ? undefined : graph.nodes[p]!;
  if (!node || node.opType !== 'Mul' || (node.domain !== '' && node.domain !== 'ai.onnx') || node.inputs.length !== 2) return { kind: 'explicit-mul' };
  for (const input of node.inputs) {
    const c = constantBehind(graph, input, readers, produced);
    if (c && c.dims.length === 1 && c.dims[0] === group.inFeatures && (c.dtype === 'float32' || c.dtype === 'float16')) return { kind: 'norm-weight', tensor: c.name };
  }
  for (const input of node.inputs) {
    const weight = rewrittenOutputs.get(input);
    if (weight && (readers.get(input)?.length ?? 0) === 1) return { kind: 'linear-output', weight };
  }
  return { kind: 'explicit-mul' };
}

function fresh(graph: Graph, base: string): string {
  const used = new Set<string>([...graph.initializers.map((t) => t.name), ...graph.nodes.flatMap((n) => [...n.outputs, n.name]), ...graph.inputs.map((v) => v.name)]);
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  return name;
}

/**
 * Applies the graph side of input scaling for each group (`norm-weight` and `explicit-mul`
 * sinks) and returns the new model; `linear-output` sinks are left to the caller, which
 * scales those weights' columns by 1/s while rewriting them. The input model is not mutated.
 */
export function applyInputScaling(model: Model, groups: readonly { group: InputGroup; sink: ScaleSink; scales: Float32Array; computeDtype: 'float32' | 'float16' }[]): Model {
  const graph: Graph = { ...model.graph, nodes: [...model.graph.nodes], initializers: [...model.graph.initializers] };
  for (const { group, sink, scales, computeDtype } of groups) {
    if (scales.length !== group.inFeatures) throw new Error(`input scaling of ${group.activation}: ${scales.length} factors for ${group.inFeatures} channels`);
    const inv = Float32Array.from(scales, (s) => 1 / s);
    if (sink.kind === 'norm-weight') {
      const i = graph.initializers.findIndex((t) => t.name === sink.tensor);
      const t = graph.initializers[i]!;
      const v = tensorToFloat32(t).map((x, j) => x * inv[j]!);
      graph.initializers[i] = tensorFromNumbers(t.name, t.dtype, [...t.dims], v);
    } else if (sink.kind === 'explicit-mul') {
      const constName = fresh(graph, `${group.activation}_input_scale`);
      graph.initializers.push(computeDtype === 'float16' ? makeTensor(constName, 'float16', [group.inFeatures], float32ToFloat16Array(inv)) : makeTensor(constName, 'float32', [group.inFeatures], inv));
      const out = fresh(graph, `${group.activation}_scaled`);
      const first = graph.nodes.indexOf(group.matmuls[0]!);
      const mul: Node = { name: fresh(graph, `${group.matmuls[0]!.name}/InputScale`), opType: 'Mul', domain: '', inputs: [group.activation, constName], outputs: [out], attributes: {} };
      const mine = new Set(group.matmuls);
      for (let k = 0; k < graph.nodes.length; k++) {
        const n = graph.nodes[k]!;
        if (mine.has(n)) graph.nodes[k] = { ...n, inputs: n.inputs.map((x, j) => (j === 0 && x === group.activation ? out : x)) };
      }
      graph.nodes.splice(first, 0, mul);
    }
  }
  return { ...model, graph };
}

/**
 * One method's input scaling over a model: groups are added with their factors s, then
 * `scaledModel()` is the graph with 1/s folded in and `scaleWeight` multiplies a weight
 * being rewritten by its rows' s and, for a `linear-output` sink, its columns' 1/s.
 */
export class InputScaling {
  private readonly rowScale = new Map<string, Float32Array>();
  private readonly columnScale = new Map<string, Float32Array>();
  private readonly rewrittenOutputs: Map<string, string>;
  readonly plans: { group: InputGroup; sink: ScaleSink; scales: Float32Array; computeDtype: 'float32' | 'float16' }[] = [];

  constructor(
    private readonly model: Model,
    layers: readonly SelectedLayer[],
    private readonly fold: boolean,
  ) {
    this.rewrittenOutputs = new Map(layers.flatMap((l) => l.layer.matmuls.map((m) => [m.outputs[0]!, l.layer.weight.name] as const)));
  }

  add(group: LayerGroup, scales: Float32Array): ScaleSink {
    for (const l of group.layers) this.rowScale.set(l.name, scales);
    const sink: ScaleSink = this.fold ? findScaleSink(this.model, group, this.rewrittenOutputs) : { kind: 'explicit-mul' };
    if (sink.kind === 'linear-output') this.columnScale.set(sink.weight, Float32Array.from(scales, (x) => 1 / x));
    this.plans.push({ group, sink, scales, computeDtype: group.layers[0]!.layer.computeDtype });
    return sink;
  }

  scaledModel(): Model {
    return applyInputScaling(this.model, this.plans);
  }

  /** The row factors s of a layer, if its group was scaled. */
  rowScaleOf(layer: string): Float32Array | undefined {
    return this.rowScale.get(layer);
  }

  /** Multiplies `values` (the layer's W [in, out]) in place by its row and column factors. */
  scaleWeight(t: { name: string; weightName: string; inFeatures: number; outFeatures: number; values: Float32Array }): Float32Array {
    const rs = this.rowScale.get(t.name);
    const cs = this.columnScale.get(t.weightName);
    const v = t.values;
    if (!rs && !cs) return v;
    for (let r = 0; r < t.inFeatures; r++) for (let c = 0; c < t.outFeatures; c++) v[r * t.outFeatures + c]! *= (rs ? rs[r]! : 1) * (cs ? cs[c]! : 1);
    return v;
  }

  count(kind: ScaleSink['kind']): number {
    return this.plans.filter((p) => p.sink.kind === kind).length;
  }
}
