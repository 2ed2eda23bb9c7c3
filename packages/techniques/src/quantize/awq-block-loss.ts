/**
 * AWQ's search objective on the block output, as the authors' code measures it
 * (Lin et al. 2023, §3.2; llm-awq / AutoAWQ `module2inspect`): for q/k/v the output of the
 * attention (o_proj's output) and for gate/up the output of the MLP (down_proj's output),
 * with the later projection left in float, instead of the group's own layer outputs. The
 * part of the graph from the group's input activation to that output is cut out of the
 * model with the group's weights as inputs; each candidate's effective weights
 * diag(s)^-1 Q(diag(s) W) run through it in ORT on captured calibration activations, and
 * the loss is the squared difference from the float outputs.
 */
import { causalLm, createSession, decoderIo, emptyPastFeeds, tokenFeeds } from '@distillery/eval';
import { eliminateDeadCode, float16ArrayToFloat32, type Model, type ValueInfo, type ort } from '@distillery/onnx';
import { weightFeed, weightsAsInputs, type WeightInput } from '../kit/weight-inputs';
import type { SelectedLayer } from '../kit/select-linear';
import type { CalibrationSet } from '../technique';
import type { LayerGroup } from './input-scaling';

const ATTENTION = new Set(['q', 'k', 'v', 'qkv']);
const MLP = new Set(['gate', 'up', 'gate_up']);

/** The value whose error the group's scales are searched on: o_proj's output for q/k/v, down_proj's for gate/up; undefined = the group's own outputs. */
export function blockTarget(group: LayerGroup, found: readonly SelectedLayer[]): string | undefined {
  const block = group.layers[0]!.block;
  if (block === null || group.layers.some((l) => l.block !== block)) return undefined;
  const roles = group.layers.map((l) => l.role);
  const want = roles.every((r) => ATTENTION.has(r)) ? 'o' : roles.every((r) => MLP.has(r)) ? 'down' : undefined;
  const target = found.find((l) => l.block === block && l.role === want);
  return target?.layer.matmuls.length === 1 ? target.layer.matmuls[0]!.outputs[0] : undefined;
}

/** The graph from the group's activation to `target`, the group's weights graph inputs [in, out] (kit/weight-inputs.ts). */
export function blockModel(model: Model, group: LayerGroup, target: string): { model: Model; weights: WeightInput[] } {
  const dtype = group.layers[0]!.layer.computeDtype;
  const probed = weightsAsInputs(model, group.layers);
  const g = probed.model.graph;
  const graph = {
    ...g,
    nodes: g.nodes.filter((n) => !n.outputs.includes(group.activation)),
    initializers: [...g.initializers],
    outputs: [{ name: target, dtype }] as ValueInfo[],
  };
  eliminateDeadCode(graph);
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  const weightNames = new Set(probed.inputs.map((w) => w.input));
  graph.inputs = [...model.graph.inputs.filter((v) => read.has(v.name)), { name: group.activation, dtype }, ...g.inputs.filter((v) => weightNames.has(v.name))];
  graph.valueInfo = graph.valueInfo.filter((v) => produced.has(v.name));
  return { model: { ...model, graph }, weights: probed.inputs };
}

/** The group's weights side by side [in, Σ out] split back into each layer's [in, out]. */
export function splitGroupWeights(group: LayerGroup, effective: Float32Array): Float32Array[] {
  const cols = group.layers.reduce((c, l) => c + l.layer.outFeatures, 0);
  if (effective.length !== group.inFeatures * cols) throw new Error(`awq: ${effective.length} effective weights for a group of [${group.inFeatures}, ${cols}]`);
  let off = 0;
  return group.layers.map((l) => {
    const n = l.layer.outFeatures;
    const w = new Float32Array(group.inFeatures * n);
    for (let r = 0; r < group.inFeatures; r++) w.set(effective.subarray(r * cols + off, r * cols + off + n), r * n);
    off += n;
    return w;
  });
}

export interface BlockLoss {
  /** Σ over the captured sequences of ||y(W_eff) - y(W)||² at the block output; `effective` is the group's weights side by side [in, Σ out]. */
  loss(effective: Float32Array): Promise<number>;
  release(): Promise<void>;
}

interface Capture {
  feeds: Record<string, ort.Tensor>[];
  activation: ort.Tensor[];
  target: Float32Array[];
}

/** Runs the float model once over `sequences` and keeps, per group, its input activation and the float block output. */
export async function captureBlockIo(model: Model, targets: { group: LayerGroup; target: string }[], calibration: CalibrationSet, sequences: number): Promise<Map<string, Capture>> {
  const extra: ValueInfo[] = [];
  for (const { group, target } of targets) {
    const dtype = group.layers[0]!.layer.computeDtype;
    for (const name of [group.activation, target]) if (!extra.some((v) => v.name === name)) extra.push({ name, dtype });
  }
  const probe: Model = { ...model, graph: { ...model.graph, outputs: [...model.graph.outputs, ...extra] } };
  const session = await createSession(probe);
  const out = new Map<string, Capture>(targets.map(({ group }) => [group.activation, { feeds: [], activation: [], target: [] }]));
  try {
    const lm = causalLm(session);
    const io = decoderIo(session);
    for (const seq of calibration.sequences.slice(0, sequences)) {
      const got = await lm.outputs(seq, extra.map((v) => v.name));
      const feeds = { ...tokenFeeds(io, seq, 1, seq.length), ...emptyPastFeeds(io, 1) };
      for (const { group, target } of targets) {
        const c = out.get(group.activation)!;
        c.feeds.push(feeds);
        c.activation.push(got[group.activation]!);
        c.target.push(toFloat32(got[target]!));
      }
    }
  } finally {
    await session.release();
  }
  return out;
}

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return Float32Array.from(t.data as Float32Array);
  if (t.type === 'float16') return float16ArrayToFloat32(t.data as Uint16Array);
  throw new Error(`awq block objective: the block output is ${t.type}, expected float32 or float16`);
}

export async function blockLoss(model: Model, group: LayerGroup, target: string, capture: Capture): Promise<BlockLoss> {
  const sub = blockModel(model, group, target);
  const session = await createSession(sub.model);
  const inputs = new Set(session.inputNames);
  return {
    async loss(effective) {
      const weights: Record<string, ort.Tensor> = {};
      for (const [i, w] of splitGroupWeights(group, effective).entries()) weights[sub.weights[i]!.input] = weightFeed(sub.weights[i]!, w);
      let total = 0;
      for (const [s, feeds] of capture.feeds.entries()) {
        const given: Record<string, ort.Tensor> = { ...weights, [group.activation]: capture.activation[s]! };
        for (const [k, v] of Object.entries(feeds)) if (inputs.has(k)) given[k] = v;
        const y = toFloat32((await session.run(given, [target]))[target]!);
        const ref = capture.target[s]!;
        for (let j = 0; j < y.length; j++) total += (y[j]! - ref[j]!) ** 2;
      }
      return total;
    },
    release: () => session.release(),
  };
}
