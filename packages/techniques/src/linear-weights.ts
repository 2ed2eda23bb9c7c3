/**
 * Finds the linear layers a weight-only technique can rewrite: MatMul nodes whose second
 * input is a constant 2-D weight: a float32 initializer, a float16/bfloat16 initializer
 * behind a Cast to float32 (how our fp16 models keep fp32 compute), or a float16
 * initializer read directly by a float16 MatMul (how imported fp16 exports compute).
 */
import type { Graph, Model, Node, Tensor } from '@distillery/onnx';

export interface LinearWeight {
  /** The MatMul nodes that read this weight as their B input, in graph order. */
  matmuls: Node[];
  weight: Tensor;
  /** Present when the weight is float16/bfloat16 and reaches the MatMuls through this Cast. */
  cast?: Node;
  /** The element type the MatMuls compute in: float32, or float16 when they read a float16 weight directly. */
  computeDtype: 'float32' | 'float16';
  /**
   * A tied LM head: the MatMuls read Transpose(table) of the embedding table [vocab, hidden]
   * (through the table's Cast when it is float16). inFeatures/outFeatures are those of the
   * transposed weight; the table stays for its Gather, so rewriting adds the head as a weight
   * of its own and drops only this Transpose.
   */
  transpose?: Node;
  inFeatures: number;
  outFeatures: number;
  /**
   * True when nothing but these MatMuls (and the Cast) reads the weight, so it can be
   * replaced outright. A weight also read by, say, a Gather (tied embeddings) is not:
   * rewriting it would keep both copies and grow the model.
   */
  exclusive: boolean;
}

interface Use {
  node: Node | null; // null: a graph output or a read inside a subgraph
  index: number;
}

function collectUses(graph: Graph): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  const add = (name: string, use: Use) => {
    if (!name) return;
    const list = uses.get(name);
    if (list) list.push(use);
    else uses.set(name, [use]);
  };
  // Subgraphs (If/Loop bodies) may read outer values by name; count those as foreign uses.
  const addSubgraphReads = (g: Graph) => {
    for (const n of g.nodes) {
      for (const i of n.inputs) add(i, { node: null, index: -1 });
      for (const a of Object.values(n.attributes)) if (a.type === 'graph') addSubgraphReads(a.value);
    }
    for (const o of g.outputs) add(o.name, { node: null, index: -1 });
  };
  for (const n of graph.nodes) {
    n.inputs.forEach((name, index) => add(name, { node: n, index }));
    for (const a of Object.values(n.attributes)) if (a.type === 'graph') addSubgraphReads(a.value);
  }
  for (const o of graph.outputs) add(o.name, { node: null, index: -1 });
  return uses;
}

const isMatMulB = (u: Use) => u.node !== null && u.node.opType === 'MatMul' && u.node.domain === '' && u.index === 1;

const FLOAT32_CODE = 1;

export function findLinearWeights(model: Model): LinearWeight[] {
  const graph = model.graph;
  const uses = collectUses(graph);
  const found: { first: number; layer: LinearWeight }[] = [];
  const order = new Map(graph.nodes.map((n, i) => [n, i]));

  for (const weight of graph.initializers) {
    if (weight.dims.length !== 2) continue;
    const direct = uses.get(weight.name) ?? [];
    let matmulUses: Use[] = [];
    let cast: Node | undefined;
    let exclusive = true;
    if (weight.dtype === 'float32') {
      matmulUses = direct.filter(isMatMulB);
      exclusive = matmulUses.length === direct.length;
    } else if (weight.dtype === 'float16' || weight.dtype === 'bfloat16') {
      const casts = direct.filter(
        (u) => u.node?.opType === 'Cast' && u.node.attributes.to?.type === 'int' && u.node.attributes.to.value === FLOAT32_CODE,
      );
      const directMatMuls = weight.dtype === 'float16' ? direct.filter(isMatMulB) : [];
      if (casts.length === 1 && directMatMuls.length === 0) {
        cast = casts[0]!.node!;
        const castUses = uses.get(cast.outputs[0]!) ?? [];
        matmulUses = castUses.filter(isMatMulB);
        exclusive = direct.length === 1 && matmulUses.length === castUses.length;
      } else if (casts.length === 0 && directMatMuls.length > 0) {
        // Imported fp16 exports: the MatMul computes in float16 on the weight as stored.
        matmulUses = directMatMuls;
        exclusive = matmulUses.length === direct.length;
      } else {
        continue;
      }
    } else {
      continue;
    }
    if (matmulUses.length === 0) continue;
    const matmuls = matmulUses.map((u) => u.node!).sort((a, b) => order.get(a)! - order.get(b)!);
    found.push({
      first: order.get(matmuls[0]!)!,
      layer: {
        matmuls,
        weight,
        cast,
        computeDtype: weight.dtype === 'float16' && !cast ? 'float16' : 'float32',
        inFeatures: weight.dims[0]!,
        outFeatures: weight.dims[1]!,
        exclusive,
      },
    });
  }
  found.push(...tiedHeads(graph, uses, order));
  return found.sort((a, b) => a.first - b.first).map((f) => f.layer);
}

const isTranspose10 = (n: Node | null): n is Node =>
  n !== null && n.opType === 'Transpose' && n.domain === '' && n.attributes.perm?.type === 'ints' && n.attributes.perm.value.join(',') === '1,0';

/** table -> [Cast to float32] -> Transpose(perm [1, 0]) -> MatMul B, the tied-embedding LM head. */
function tiedHeads(graph: Graph, uses: Map<string, Use[]>, order: Map<Node, number>): { first: number; layer: LinearWeight }[] {
  const out: { first: number; layer: LinearWeight }[] = [];
  for (const weight of graph.initializers) {
    if (weight.dims.length !== 2 || !['float32', 'float16', 'bfloat16'].includes(weight.dtype)) continue;
    const direct = uses.get(weight.name) ?? [];
    let readers = direct;
    let cast: Node | undefined;
    if (weight.dtype !== 'float32') {
      const c = direct.find((u) => u.node?.opType === 'Cast' && u.node.attributes.to?.type === 'int' && u.node.attributes.to.value === FLOAT32_CODE);
      if (!c) continue;
      cast = c.node!;
      readers = uses.get(cast.outputs[0]!) ?? [];
    }
    for (const r of readers) {
      if (!isTranspose10(r.node)) continue;
      const tUses = uses.get(r.node.outputs[0]!) ?? [];
      const matmuls = tUses.filter(isMatMulB).map((u) => u.node!);
      if (!matmuls.length || matmuls.length !== tUses.length) continue;
      matmuls.sort((a, b) => order.get(a)! - order.get(b)!);
      out.push({
        first: order.get(matmuls[0]!)!,
        layer: { matmuls, weight, cast, computeDtype: 'float32', inFeatures: weight.dims[1]!, outFeatures: weight.dims[0]!, exclusive: false, transpose: r.node },
      });
    }
  }
  return out;
}

/** The name users see for a layer: its first MatMul's node name, else the weight's. */
export function linearLayerName(l: LinearWeight): string {
  return l.matmuls[0]!.name || l.weight.name;
}
