/**
 * Writes trained LoRA adapters into the model they were trained on. A quantized layer
 * (DequantizeLinear or MatMulNBits) keeps its integers and gains two low-rank MatMuls whose
 * product is added to its output, y = x W_q + (x A)(s B): folding s A B into W would mean
 * rounding again, which undoes what was learned. A float layer is merged when asked,
 * W' = W + s A B in its stored dtype (Hu et al. 2021, sec. 4.1: no added latency).
 */
import { replaceNode, tensorFromNumbers, type Model, type Node } from '@distillery/onnx';
import { weightNameOfMatMul } from '@distillery/nn';

export interface TrainedAdapter {
  /** Hugging Face weight name, e.g. model.layers.0.mlp.up_proj.weight. */
  weight: string;
  inFeatures: number;
  outFeatures: number;
  rank: number;
  /** [in, rank] */
  a: Float32Array;
  /** [rank, out], already multiplied by alpha / rank. */
  b: Float32Array;
}

export interface AttachResult {
  model: Model;
  merged: string[];
  separate: string[];
  /** Bytes of the adapter initializers added (separate adapters only). */
  adapterBytes: number;
}

/** s A B as a [in, out] float64-accumulated product. */
export function lowRankProduct(ad: TrainedAdapter): Float32Array {
  const { inFeatures: n, outFeatures: m, rank: r, a, b } = ad;
  const out = new Float32Array(n * m);
  const row = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const v = a[i * r + k]!;
      if (v === 0) continue;
      for (let j = 0; j < m; j++) row[j]! += v * b[k * m + j]!;
    }
    out.set(row, i * m);
  }
  return out;
}

export function attachAdapters(
  model: Model,
  adapters: readonly TrainedAdapter[],
  opts: {
    merge: boolean;
    quantized: ReadonlySet<string>;
    baseWeights: ReadonlyMap<string, Float32Array>;
    /** Storage of separate adapters; float16 ones are cast to float32 in the graph (folded at load). */
    dtype: 'float32' | 'float16';
  },
): AttachResult {
  const graph = { ...model.graph, nodes: [...model.graph.nodes], initializers: [...model.graph.initializers] };
  const merged: string[] = [];
  const separate: string[] = [];
  let adapterBytes = 0;
  const taken = new Set([...graph.initializers.map((t) => t.name), ...graph.nodes.flatMap((n) => [n.name, ...n.outputs])]);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  for (const ad of adapters) {
    const node = graph.nodes.find((n) => (n.opType === 'MatMul' || n.opType === 'MatMulNBits') && weightNameOfMatMul(n.name) === ad.weight);
    if (!node) throw new Error(`finetune.lora: no MatMul or MatMulNBits node computes with ${ad.weight}`);
    const float = !opts.quantized.has(ad.weight) && graph.initializers.some((t) => t.name === ad.weight);
    if (float && opts.merge) {
      const i = graph.initializers.findIndex((t) => t.name === ad.weight);
      const t = graph.initializers[i]!;
      const base = opts.baseWeights.get(ad.weight)!;
      const delta = lowRankProduct(ad);
      graph.initializers[i] = tensorFromNumbers(t.name, t.dtype, t.dims, Float32Array.from(base, (v, k) => v + delta[k]!));
      merged.push(ad.weight);
      continue;
    }
    const a = tensorFromNumbers(fresh(`${ad.weight}.lora_A`), opts.dtype, [ad.inFeatures, ad.rank], ad.a);
    const b = tensorFromNumbers(fresh(`${ad.weight}.lora_B`), opts.dtype, [ad.rank, ad.outFeatures], ad.b);
    graph.initializers.push(a, b);
    adapterBytes += a.raw.byteLength + b.raw.byteLength;
    const casts: Node[] = [];
    const read = (t: string): string => {
      if (opts.dtype === 'float32') return t;
      const out = fresh(`${t}_float`);
      casts.push({ name: fresh(`/weights/${t}/Cast`), opType: 'Cast', domain: '', inputs: [t], outputs: [out], attributes: { to: { type: 'int', value: 1 } } });
      return out;
    };
    const aValue = read(a.name);
    const bValue = read(b.name);
    const y = node.outputs[0]!;
    const yBase = fresh(`${y}_base`);
    const xa = fresh(`${y}_lora_a`);
    const delta = fresh(`${y}_lora`);
    const base = node.name.replace(/\/MatMul$/, '');
    const mk = (opType: string, name: string, inputs: string[], outputs: string[]): Node => ({ name: fresh(name), opType, domain: '', inputs, outputs, attributes: {} });
    replaceNode(graph, node, [
      ...casts,
      { ...node, outputs: [yBase, ...node.outputs.slice(1)] },
      mk('MatMul', `${base}/lora_A/MatMul`, [node.inputs[0]!, aValue], [xa]),
      mk('MatMul', `${base}/lora_B/MatMul`, [xa, bValue], [delta]),
      mk('Add', `${base}/lora/Add`, [yBase, delta], [y]),
    ]);
    separate.push(ad.weight);
  }
  return { model: { ...model, graph }, merged, separate, adapterBytes };
}
