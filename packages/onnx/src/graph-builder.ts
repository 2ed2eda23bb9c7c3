/**
 * Incremental construction of an ONNX graph: unique value names, initializers from
 * typed arrays, and one call per node. The decoder builder and the autodiff both emit
 * through it, so names and conventions match everywhere.
 */
import type { AttributeValue, Dim, Graph, Model, OpsetImport, Tensor } from './model';
import { createModel, emptyGraph } from './model';
import type { DType } from './dtype';
import { float32Tensor, int64Tensor, makeTensor, type NumericArray } from './tensor';

export interface OpOptions {
  /** Number of outputs (default 1) or their exact names. */
  outputs?: number | string[];
  domain?: string;
  name?: string;
}

export class GraphBuilder {
  readonly graph: Graph;
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constCache = new Map<string, string>();
  // Node names are a namespace of their own in ONNX; keeping them apart lets a node be
  // called exactly what Optimum calls it even when a value has the same name.
  private readonly nodeNames = new Set<string>();

  constructor(name = 'main') {
    this.graph = emptyGraph(name);
  }

  /** A value name not yet used in this graph, derived from `base`. */
  fresh(base: string): string {
    if (!this.used.has(base)) {
      this.used.add(base);
      return base;
    }
    let i = this.counters.get(base) ?? 1;
    while (this.used.has(`${base}_${i}`)) i++;
    this.counters.set(base, i + 1);
    const name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Claim an exact name (graph inputs/outputs, weights); throws if taken. */
  claim(name: string): string {
    if (this.used.has(name)) throw new Error(`value name "${name}" is already used in graph "${this.graph.name}"`);
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.inputs.push({ name: this.claim(name), dtype, shape });
    return name;
  }

  /** Declare `value` a graph output; renames it with an Identity if the names differ. */
  output(value: string, dtype: DType, shape?: Dim[], as: string = value): string {
    let name = value;
    if (as !== value) {
      this.claim(as);
      this.graph.nodes.push({ name: `${as}/identity`, opType: 'Identity', domain: '', inputs: [value], outputs: [as], attributes: {} });
      name = as;
    }
    this.graph.outputs.push({ name, dtype, shape });
    return name;
  }

  addInitializer(t: Tensor): string {
    this.claim(t.name);
    this.graph.initializers.push(t);
    return t.name;
  }

  initializer(name: string, dtype: DType, dims: number[], data: NumericArray): string {
    return this.addInitializer(makeTensor(name, dtype, dims, data));
  }

  /** A float32 constant, deduplicated by value. */
  constF32(values: number[] | number, dims?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    const key = `f32:${shape.join(',')}:${arr.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_f32');
    this.graph.initializers.push(float32Tensor(name, shape, arr));
    this.constCache.set(key, name);
    return name;
  }

  /** An int64 constant (shapes, axes, indices), deduplicated by value. */
  constI64(values: number[] | number, dims?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    const key = `i64:${shape.join(',')}:${arr.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh('const_i64');
    this.graph.initializers.push(int64Tensor(name, shape, arr));
    this.constCache.set(key, name);
    return name;
  }

  /** A node name not yet used: `base` itself when free, else `base_1`, `base_2`, ... */
  freshNodeName(base: string): string {
    let name = base;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${base}_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  /**
   * Append a node; returns its output names. `opts.name` is used as the node name as is
   * (Optimum-style `/model/layers.0/mlp/up_proj/MatMul`); unnamed nodes get `<OpType>/node`.
   */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, opts: OpOptions = {}): string[] {
    const outs =
      Array.isArray(opts.outputs)
        ? opts.outputs.map((o) => this.claim(o))
        : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(`${opts.name ?? opType.toLowerCase()}_out`));
    this.graph.nodes.push({
      name: this.freshNodeName(opts.name ?? `${opType}/node`),
      opType,
      domain: opts.domain ?? '',
      inputs,
      outputs: outs,
      attributes,
    });
    return outs;
  }

  /** Append a single-output node; returns the output name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, opts: Omit<OpOptions, 'outputs'> & { output?: string } = {}): string {
    const [out] = this.node(opType, inputs, attributes, { ...opts, outputs: opts.output ? [opts.output] : 1 });
    return out!;
  }

  toModel(opts: { opsetImports?: OpsetImport[]; metadata?: Record<string, string> } = {}): Model {
    return createModel(this.graph, opts);
  }
}
