/**
 * Which initializers are the model's learned weights. inspectModel().parameterCount counts
 * every numeric initializer, which includes RoPE cos/sin tables, shape constants and the
 * scales and zero points of quantized weights; a compressed model's "parameters" must
 * count only weights, with the bytes its quantization metadata costs reported beside them.
 *
 * - scales / zero points: the scale and zero-point inputs of DequantizeLinear, MatMulNBits,
 *   MatMulInteger, QLinearMatMul and GatherBlockQuantized, and the codebooks of palettized
 *   weights (a float table gathered by indices stored as an integer initializer: the indices
 *   are the weights, one per index)
 * - tables: initializers gathered by position (their indices come from `position_ids`, not
 *   `input_ids`), and tensors named like RoPE caches (cos/sin caches, inv_freq)
 * - constants: integer or bool tensors that are not quantized weight data, and scalars
 * - weights: everything else; MatMulNBits data counts K x N weights, not packed bytes
 */
import { dtypeBits, elementCount, inspectModel, normalizeDomain, type Model, type Node, type Tensor } from '@distillery/onnx';

export interface WeightCensus {
  /** Learned weights, counted one per weight however packed. */
  weightParameters: number;
  /** Bytes of the weights as stored. */
  weightBytes: number;
  /** Bytes of quantization scales and zero points. */
  scaleBytes: number;
  /** (weightBytes + scaleBytes) * 8 / weightParameters. */
  bitsPerWeight: number;
  /** Bytes of position tables and other constants, neither weights nor scales. */
  otherBytes: number;
  tables: string[];
}

/** [op type] -> input slots holding scales or zero points, and the slot holding quantized weight data. */
const QUANT_OPS: Record<string, { scales: number[]; data: number[] }> = {
  DequantizeLinear: { scales: [1, 2], data: [0] },
  MatMulNBits: { scales: [2, 3], data: [1] },
  MatMulInteger: { scales: [2, 3], data: [1] },
  QLinearMatMul: { scales: [1, 2, 4, 5, 6, 7], data: [3] },
  GatherBlockQuantized: { scales: [2, 3], data: [0] },
};

const ROPE_NAME = /(?:^|[._/])(?:cos|sin)_cache(?:d)?(?:$|[._/])|inv_freq/i;
const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);

/** The initializer `value` is, directly or through Casts (a float16 codebook cast to float32 before its Gather). */
function storedThroughCasts(value: string, producers: Map<string, Node>, inits: Map<string, Tensor>): Tensor | undefined {
  let v = value;
  for (let p = producers.get(v); p?.opType === 'Cast' && p.inputs[0]; p = producers.get(v)) v = p.inputs[0];
  return inits.get(v);
}

/** Integer initializers holding more than one value that `start` is computed from without passing a graph input. */
function storedIndices(start: string, producers: Map<string, Node>, graphInputs: Set<string>, inits: Map<string, Tensor>): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (graphInputs.has(v)) return [];
    const t = inits.get(v);
    if (t) {
      if (!FLOAT.has(t.dtype) && elementCount(t.dims) > 1) found.push(v);
      continue;
    }
    const p = producers.get(v);
    if (p) stack.push(...p.inputs.filter((x) => x !== ''));
  }
  return found;
}

function reachesInput(start: string, input: string, producers: Map<string, Node>, graphInputs: Set<string>): boolean {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const v = stack.pop()!;
    if (v === input) return true;
    if (seen.has(v) || graphInputs.has(v)) continue;
    seen.add(v);
    const p = producers.get(v);
    if (p) stack.push(...p.inputs.filter((x) => x !== ''));
  }
  return false;
}

export function weightCensus(model: Model): WeightCensus {
  const g = model.graph;
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  const graphInputs = new Set(g.inputs.map((i) => i.name));
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const scales = new Set<string>();
  const quantData = new Set<string>();
  const tables = new Set<string>();
  for (const n of g.nodes) {
    const q = QUANT_OPS[n.opType];
    if (q && (normalizeDomain(n.domain) === '' || normalizeDomain(n.domain) === 'com.microsoft')) {
      for (const i of q.scales) if (n.inputs[i]) scales.add(n.inputs[i]!);
      for (const i of q.data) if (n.inputs[i]) quantData.add(n.inputs[i]!);
    }
    if (n.opType === 'Gather' && n.inputs[1]) {
      const byPosition = reachesInput(n.inputs[1], 'position_ids', producers, graphInputs);
      const byToken = reachesInput(n.inputs[1], 'input_ids', producers, graphInputs);
      if (byPosition && !byToken) tables.add(n.inputs[0]!);
      const table = storedThroughCasts(n.inputs[0]!, producers, inits);
      if (!byPosition && !byToken && table && FLOAT.has(table.dtype)) {
        const indices = storedIndices(n.inputs[1], producers, graphInputs, inits);
        if (indices.length) {
          scales.add(table.name);
          for (const i of indices) quantData.add(i);
        }
      }
    }
  }
  // MatMulNBits packs K x N weights into bytes: count weights from the layer's shape.
  const packedCounts = new Map<string, number>();
  for (const l of inspectModel(model).linearLayers) if (l.opType === 'MatMulNBits') packedCounts.set(l.weight, l.inFeatures * l.outFeatures);

  let weightParameters = 0;
  let weightBytes = 0;
  let scaleBytes = 0;
  let otherBytes = 0;
  for (const t of g.initializers) {
    const bytes = t.raw.byteLength;
    const count = elementCount(t.dims);
    if (scales.has(t.name) && !quantData.has(t.name)) scaleBytes += bytes;
    else if (tables.has(t.name) || ROPE_NAME.test(t.name)) {
      tables.add(t.name);
      otherBytes += bytes;
    } else if (quantData.has(t.name)) {
      weightParameters += packedCounts.get(t.name) ?? count;
      weightBytes += bytes;
    } else if (FLOAT.has(t.dtype) && count > 1 && dtypeBits(t.dtype) > 0) {
      weightParameters += count;
      weightBytes += bytes;
    } else otherBytes += bytes;
  }
  return {
    weightParameters,
    weightBytes,
    scaleBytes,
    bitsPerWeight: weightParameters > 0 ? ((weightBytes + scaleBytes) * 8) / weightParameters : 0,
    otherBytes,
    tables: [...tables].sort(),
  };
}
