/**
 * What a model is made of: parameter and byte counts, op histogram, and its linear layers
 * with their transformer block and role. Role and block are read from node names
 * (Optimum: `/model/layers.3/self_attn/q_proj/MatMul`) or weight names
 * (`model.layers.3.self_attn.q_proj.weight`), so our decoders and imported exports
 * (Llama, Mistral, Qwen, Phi, GPT-2, GPT-NeoX) group the same way.
 */
import { dtypeBits, elementCount, type DType } from './dtype';
import { normalizeDomain } from './graph-edit';
import type { Model, Node, Tensor } from './model';

/** 'qkv' and 'gate_up' are fused projections (GPT-2 c_attn, Phi-3 qkv_proj / gate_up_proj). */
export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'qkv' | 'gate' | 'up' | 'gate_up' | 'down' | 'lm_head' | 'other';

export interface LinearLayer {
  /** Node name (MatMul, Gemm, MatMulNBits, MatMulInteger, QLinearMatMul). */
  node: string;
  opType: string;
  /** The initializer holding the stored weight (before any DequantizeLinear/Transpose/Cast). */
  weight: string;
  role: LinearRole;
  block: number | null;
  inFeatures: number;
  outFeatures: number;
  /** Element type of the stored weight initializer. */
  dtype: DType;
  /** Bits per weight as stored (MatMulNBits: its `bits` attribute; otherwise the dtype's width). */
  bits: number;
}

export interface BlockSummary {
  block: number;
  linearLayers: LinearLayer[];
  /** inFeatures * outFeatures summed over the block's linear layers. */
  weightCount: number;
}

export interface ModelInspection {
  /** Elements of numeric initializers (4-bit values count one each). */
  parameterCount: number;
  bytesByDtype: Partial<Record<DType, number>>;
  totalBytes: number;
  /** op type -> count; non-default domains are prefixed, e.g. `com.microsoft.MatMulNBits`. */
  opHistogram: Record<string, number>;
  linearLayers: LinearLayer[];
  blocks: BlockSummary[];
}

// Segment-anchored patterns: a role name must be a whole path component or dotted part.
const SEG = (s: string) => new RegExp(`(?:^|[/.])(?:${s})(?:[/.]|$)`);
const ROLE_PATTERNS: [LinearRole, RegExp][] = [
  ['lm_head', SEG('lm_head|embed_out')],
  ['qkv', SEG('qkv_proj|c_attn|query_key_value|Wqkv|W_pack')],
  ['gate_up', SEG('gate_up_proj')],
  ['q', SEG('q_proj|wq')],
  ['k', SEG('k_proj|wk')],
  ['v', SEG('v_proj|wv')],
  ['o', SEG('o_proj|out_proj|wo|attn/c_proj|attn\\.c_proj|attention/dense|attention\\.dense|self_attn/dense|self_attn\\.dense')],
  ['gate', SEG('gate_proj|w1')],
  ['up', SEG('up_proj|c_fc|fc1|dense_h_to_4h|w3')],
  ['down', SEG('down_proj|fc2|dense_4h_to_h|mlp/c_proj|mlp\\.c_proj|w2')],
];

const BLOCK_PATTERN = /(?:^|[/.])(?:layers|h|blocks?|layer)[./](\d+)(?:[/.]|$)/;

export function roleFromName(name: string): LinearRole {
  for (const [role, re] of ROLE_PATTERNS) if (re.test(name)) return role;
  return 'other';
}

export function blockFromName(name: string): number | null {
  const m = BLOCK_PATTERN.exec(name);
  return m ? Number(m[1]) : null;
}

const WEIGHT_CHAIN_OPS = new Set(['DequantizeLinear', 'Transpose', 'Cast', 'Identity']);

interface WeightTrace {
  tensor: Tensor;
  /** The shape of the weight as the linear op sees it. */
  shape: number[];
}

/** Follow a weight input back through DequantizeLinear/Transpose/Cast/Identity to an initializer. */
function traceWeight(value: string, inits: Map<string, Tensor>, producers: Map<string, Node>): WeightTrace | null {
  const t = inits.get(value);
  if (t) return { tensor: t, shape: [...t.dims] };
  const p = producers.get(value);
  if (!p || !WEIGHT_CHAIN_OPS.has(p.opType) || normalizeDomain(p.domain) !== '') return null;
  const src = traceWeight(p.inputs[0] ?? '', inits, producers);
  if (!src) return null;
  if (p.opType === 'Transpose') {
    const permAttr = p.attributes.perm;
    const perm = permAttr?.type === 'ints' ? permAttr.value : src.shape.map((_, i) => src.shape.length - 1 - i);
    return { tensor: src.tensor, shape: perm.map((i) => src.shape[i]!) };
  }
  return src;
}

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes[name];
  return a?.type === 'int' ? a.value : dflt;
}

function linearLayerOf(n: Node, inits: Map<string, Tensor>, producers: Map<string, Node>): LinearLayer | null {
  const domain = normalizeDomain(n.domain);
  let weightInput: number;
  if (domain === '' && (n.opType === 'MatMul' || n.opType === 'Gemm' || n.opType === 'MatMulInteger')) weightInput = 1;
  else if (domain === '' && n.opType === 'QLinearMatMul') weightInput = 3;
  else if (domain === 'com.microsoft' && n.opType === 'MatMulNBits') weightInput = 1;
  else return null;
  const trace = traceWeight(n.inputs[weightInput] ?? '', inits, producers);
  if (!trace) return null;
  let inFeatures: number;
  let outFeatures: number;
  let bits = dtypeBits(trace.tensor.dtype);
  if (n.opType === 'MatMulNBits') {
    inFeatures = intAttr(n, 'K', 0);
    outFeatures = intAttr(n, 'N', 0);
    bits = intAttr(n, 'bits', 4);
  } else {
    const s = trace.shape;
    if (s.length < 2) return null;
    const transB = n.opType === 'Gemm' && intAttr(n, 'transB', 0) === 1;
    inFeatures = transB ? s[s.length - 1]! : s[s.length - 2]!;
    outFeatures = transB ? s[s.length - 2]! : s[s.length - 1]!;
  }
  const nodeRole = roleFromName(n.name);
  const role = nodeRole !== 'other' ? nodeRole : roleFromName(trace.tensor.name);
  const block = blockFromName(n.name) ?? blockFromName(trace.tensor.name);
  return {
    node: n.name,
    opType: n.opType,
    weight: trace.tensor.name,
    role,
    block,
    inFeatures,
    outFeatures,
    dtype: trace.tensor.dtype,
    bits,
  };
}

export function inspectModel(model: Model): ModelInspection {
  const g = model.graph;
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);

  let parameterCount = 0;
  let totalBytes = 0;
  const bytesByDtype: Partial<Record<DType, number>> = {};
  for (const t of g.initializers) {
    if (t.dtype !== 'string' && t.dtype !== 'bool') parameterCount += elementCount(t.dims);
    bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] ?? 0) + t.raw.byteLength;
    totalBytes += t.raw.byteLength;
  }

  const opHistogram: Record<string, number> = {};
  for (const n of g.nodes) {
    const d = normalizeDomain(n.domain);
    const key = d ? `${d}.${n.opType}` : n.opType;
    opHistogram[key] = (opHistogram[key] ?? 0) + 1;
  }

  const linearLayers: LinearLayer[] = [];
  for (const n of g.nodes) {
    const l = linearLayerOf(n, inits, producers);
    if (l) linearLayers.push(l);
  }

  const byBlock = new Map<number, LinearLayer[]>();
  for (const l of linearLayers) {
    if (l.block === null) continue;
    const list = byBlock.get(l.block);
    if (list) list.push(l);
    else byBlock.set(l.block, [l]);
  }
  const blocks = [...byBlock.entries()]
    .sort(([a], [b]) => a - b)
    .map(([block, layers]) => ({
      block,
      linearLayers: layers,
      weightCount: layers.reduce((s, l) => s + l.inFeatures * l.outFeatures, 0),
    }));

  return { parameterCount, bytesByDtype, totalBytes, opHistogram, linearLayers, blocks };
}
