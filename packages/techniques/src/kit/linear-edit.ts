/**
 * The edit one output format makes for one linear layer, on a working copy of the graph:
 * fresh unique names, new initializers, nodes placed before the layer's first MatMul,
 * MatMul nodes replaced, opset requirements collected. Output formats (formats/*.ts) use
 * it; the driver (rewrite-linear.ts) creates it, removes the old weights and applies the
 * opset requirements at the end. Input nodes are never mutated: replacements are new objects.
 */
import {
  addNodes,
  byteLength,
  dtypeCode,
  makeTensor,
  replaceNode,
  tensorFromNumbers,
  type DType,
  type Graph,
  type Model,
  type Node,
  type NumericArray,
} from '@distillery/onnx';
import type { StorageDtype } from './linear-result';
import type { LinearWeight } from '../linear-weights';

export class LinearEdit {
  readonly graph: Graph;
  private readonly used = new Set<string>();
  /** Minimum opset per domain ('' = default) the written nodes need. */
  readonly opsets = new Map<string, number>();

  constructor(model: Model) {
    const g = model.graph;
    this.graph = { ...g, nodes: [...g.nodes], initializers: [...g.initializers], valueInfo: [...g.valueInfo] };
    for (const t of g.initializers) this.used.add(t.name);
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) this.used.add(v.name);
    for (const n of g.nodes) {
      for (const o of n.outputs) this.used.add(o);
      this.used.add(n.name);
    }
  }

  name(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /**
   * Lets a new initializer take the name of the weight it replaces (the driver drops the old
   * tensor itself, not its name): dense rewrites keep the Hugging Face weight names that
   * readers such as decoderWeightsFromModel and finetune.recover look weights up by.
   */
  reuse(name: string): void {
    this.used.delete(name);
  }

  requireOpset(domain: string, version: number): void {
    this.opsets.set(domain, Math.max(this.opsets.get(domain) ?? 0, version));
  }

  /** Bytes of the initializers added since the last `takeBytes()`. */
  private bytes = 0;

  /** Adds an initializer under a fresh name derived from `base`; returns the name. */
  tensor(base: string, dtype: DType, dims: number[], data: NumericArray): string {
    const name = this.name(base);
    this.graph.initializers.push(makeTensor(name, dtype, dims, data));
    this.bytes += byteLength(dtype, dims);
    return name;
  }

  private readonly constants = new Map<string, string>();

  /**
   * A small constant (indices, shapes, a zero point) shared by every node that asks for the
   * same dtype, dims and values: stored, and counted in the bytes, once per rewrite.
   */
  constant(base: string, dtype: DType, dims: number[], values: readonly number[]): string {
    const key = `${dtype}|${dims.join(',')}|${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      const data = dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : dtype === 'int32' ? Int32Array.from(values) : undefined;
      name = data ? this.tensor(base, dtype, dims, data) : this.floatTensor(base, dtype as StorageDtype, dims, values);
      this.constants.set(key, name);
    }
    return name;
  }

  /** Float values (scales, codebooks) as an initializer of a float dtype; returns its name. */
  floatTensor(base: string, dtype: StorageDtype, dims: number[], values: ArrayLike<number>): string {
    const name = this.name(base);
    this.graph.initializers.push(tensorFromNumbers(name, dtype, dims, values));
    this.bytes += byteLength(dtype, dims);
    return name;
  }

  /** Float values stored in `dtype`; a Cast (placed before the layer) brings them to the layer's compute dtype. Returns the value to read. */
  floatWeight(layer: LinearWeight, base: string, dims: number[], values: Float32Array, dtype: StorageDtype): string {
    const name = this.floatTensor(base, dtype, dims, values);
    if (dtype === layer.computeDtype) return name;
    const out = this.name(`${name}_cast`);
    this.before(layer, [this.node('Cast', `/weights/${name}/Cast`, [name], [out], { to: { type: 'int', value: dtypeCode(layer.computeDtype) } })]);
    return out;
  }

  /** Every MatMul of the layer reads `value` as its B input. */
  rewireB(layer: LinearWeight, value: string): void {
    for (const m of layer.matmuls) this.replace(m, { ...m, inputs: [m.inputs[0]!, value, ...m.inputs.slice(2)] });
  }

  takeBytes(): number {
    const b = this.bytes;
    this.bytes = 0;
    return b;
  }

  /** Nodes computing a weight-like value, placed before the layer's first MatMul so the order stays topological. */
  before(layer: LinearWeight, nodes: Node[]): void {
    addNodes(this.graph, nodes, { before: layer.matmuls[0]! });
  }

  replace(node: Node, replacement: Node | Node[]): void {
    replaceNode(this.graph, node, replacement);
  }

  node(opType: string, name: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}, domain = ''): Node {
    return { name: this.name(name), opType, domain, inputs, outputs, attributes };
  }
}
