/**
 * A symbolic tracer over GraphBuilder: every op appends ONNX nodes to one graph and, if
 * differentiable, a tape entry whose backward emits the gradient nodes into the same
 * graph. `gradients()` walks the tape in reverse topological order (the order ops were
 * recorded) and sums gradients of values used more than once: reverse-mode automatic
 * differentiation (Griewank & Walther, "Evaluating Derivatives", 2008, ch. 3).
 */
import { GraphBuilder, attr, makeTensor, type AttributeValue, type DType, type Model, type NumericArray } from '@distillery/onnx';
import { normDim, type SymDim } from './shape';

export type ValueKind = 'float' | 'int64' | 'bool';
export type FloatDType = 'float32' | 'float64';

export class Value {
  constructor(
    readonly tracer: Tracer,
    readonly name: string,
    readonly shape: readonly SymDim[],
    readonly kind: ValueKind,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
}

export type Grad = Value | undefined;

/**
 * Gradients of the inputs given gradients of the outputs (undefined: zero). `needs[i]`
 * says whether input i needs one; a backward may skip the others.
 */
export type BackwardFn = (gradOutputs: Grad[], needs: boolean[]) => Grad[];

interface TapeEntry {
  inputs: Value[];
  outputs: Value[];
  backward: BackwardFn;
}

export interface OutSpec {
  shape: readonly SymDim[];
  kind?: ValueKind;
}

export interface NodeOptions {
  /** Exact node name (e.g. Optimum's `/model/layers.0/self_attn/q_proj/MatMul`). */
  name?: string;
  domain?: string;
}

export class Tracer {
  readonly builder: GraphBuilder;
  readonly dtype: FloatDType;
  private readonly tape: TapeEntry[] = [];
  private readonly constants = new Map<string, Value>();
  /** Values renamed in place by output(): old name -> output name. */
  private readonly renamed = new Map<string, string>();

  constructor(opts: { dtype?: FloatDType; name?: string } = {}) {
    this.builder = new GraphBuilder(opts.name ?? 'training');
    this.dtype = opts.dtype ?? 'float32';
  }

  onnxType(kind: ValueKind): DType {
    return kind === 'float' ? this.dtype : kind;
  }

  input(name: string, shape: readonly SymDim[], kind: ValueKind = 'float'): Value {
    const dims = shape.map(normDim);
    this.builder.input(name, this.onnxType(kind), dims);
    return new Value(this, name, dims, kind);
  }

  /**
   * Declare `v` a graph output named `as`. A value only its producer touches is renamed
   * in place; otherwise an Identity is added (which may cost a copy in ORT).
   */
  output(v: Value, as: string = v.name): string {
    const g = this.builder.graph;
    const src = this.renamed.get(v.name) ?? v.name;
    const producer = g.nodes.find((n) => n.outputs.includes(src));
    const shared = !producer || src !== v.name || g.nodes.some((n) => n.inputs.includes(src));
    if (as === src || shared) return this.builder.output(src, this.onnxType(v.kind), [...v.shape], as);
    this.builder.claim(as);
    producer.outputs = producer.outputs.map((o) => (o === src ? as : o));
    this.renamed.set(v.name, as);
    g.outputs.push({ name: as, dtype: this.onnxType(v.kind), shape: [...v.shape] });
    return as;
  }

  /** A constant tensor; float data is stored in the tracer's float dtype. Small ones are shared. */
  constant(values: ArrayLike<number>, shape: readonly number[], kind: ValueKind = 'float'): Value {
    const key = values.length <= 64 ? `${kind}:${shape.join(',')}:${Array.from(values).join(',')}` : undefined;
    const hit = key !== undefined ? this.constants.get(key) : undefined;
    if (hit) return hit;
    const name = this.builder.fresh(kind === 'float' ? 'const' : `const_${kind}`);
    // fresh() has reserved the name, so push directly (initializer() would claim it again).
    this.builder.graph.initializers.push(makeTensor(name, this.onnxType(kind), [...shape], this.typed(values, kind)));
    const v = new Value(this, name, [...shape], kind);
    if (key !== undefined) this.constants.set(key, v);
    return v;
  }

  scalar(value: number, kind: ValueKind = 'float'): Value {
    return this.constant([value], [], kind);
  }

  /** A typed array holding `values` as the ONNX element type of `kind`. */
  typed(values: ArrayLike<number>, kind: ValueKind): NumericArray {
    if (kind === 'int64') return BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    if (kind === 'bool') return Uint8Array.from(values, (v) => (v ? 1 : 0));
    return this.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  }

  /** The ConstantOfShape `value` attribute filling with `fill` in this tracer's float dtype. */
  fillAttr(fill: number): AttributeValue {
    return attr.tensor(makeTensor('value', this.dtype, [1], this.typed([fill], 'float')));
  }

  /** Emit one node with any number of outputs; not recorded on the tape. */
  emit(opType: string, inputs: (Value | string)[], attributes: Record<string, AttributeValue>, outs: OutSpec[], opts: NodeOptions = {}): Value[] {
    const names = this.builder.node(
      opType,
      inputs.map((v) => (typeof v === 'string' ? v : (this.renamed.get(v.name) ?? v.name))),
      attributes,
      { outputs: outs.length, domain: opts.domain, name: opts.name },
    );
    if (opts.name) {
      // GraphBuilder suffixes node names; Optimum-style names must be exact when free.
      const node = this.builder.graph.nodes[this.builder.graph.nodes.length - 1]!;
      if (!this.builder.graph.nodes.some((n) => n !== node && n.name === opts.name)) node.name = opts.name;
    }
    return names.map((n, i) => new Value(this, n, outs[i]!.shape.map(normDim), outs[i]!.kind ?? 'float'));
  }

  /** Emit a single-output node; not recorded on the tape. */
  op(opType: string, inputs: (Value | string)[], attributes: Record<string, AttributeValue>, out: OutSpec, opts: NodeOptions = {}): Value {
    return this.emit(opType, inputs, attributes, [out], opts)[0]!;
  }

  /** Register how to differentiate outputs with respect to inputs. */
  record(inputs: Value[], outputs: Value[], backward: BackwardFn): void {
    this.tape.push({ inputs, outputs, backward });
  }

  zerosLike(v: Value): Value {
    const shape = v.shape.every((d) => typeof d === 'number')
      ? this.constant(v.shape as number[], [v.rank], 'int64')
      : this.op('Shape', [v], {}, { shape: [v.rank], kind: 'int64' });
    return this.op('ConstantOfShape', [shape], { value: this.fillAttr(0) }, { shape: v.shape });
  }

  /**
   * d loss / d w for each w in `wrt`, as new values in the graph. Only entries on a path
   * from some w to `loss` are differentiated; values that reach `loss` several ways get
   * the Sum of their gradient contributions.
   */
  gradients(loss: Value, wrt: Value[]): Value[] {
    const tape = this.tape.slice();
    const reach = new Set<Value>(wrt);
    for (const e of tape) if (e.inputs.some((v) => reach.has(v))) for (const o of e.outputs) reach.add(o);
    const acc = new Map<Value, Value[]>();
    const seed = loss.rank === 0 ? this.scalar(1) : this.op('Expand', [this.scalar(1), this.op('Shape', [loss], {}, { shape: [loss.rank], kind: 'int64' })], {}, { shape: loss.shape });
    acc.set(loss, [seed]);
    const total = (v: Value): Grad => {
      const gs = acc.get(v);
      if (!gs) return undefined;
      if (gs.length === 1) return gs[0];
      const s = this.op('Sum', gs, {}, { shape: v.shape });
      acc.set(v, [s]);
      return s;
    };
    for (let i = tape.length - 1; i >= 0; i--) {
      const e = tape[i]!;
      const needs = e.inputs.map((v) => v.kind === 'float' && reach.has(v));
      if (!needs.some(Boolean)) continue;
      const gOut = e.outputs.map(total);
      if (gOut.every((g) => g === undefined)) continue;
      const gIn = e.backward(gOut, needs);
      gIn.forEach((g, j) => {
        if (!g || !needs[j]) return;
        const input = e.inputs[j]!;
        const list = acc.get(input);
        if (list) list.push(g);
        else acc.set(input, [g]);
      });
    }
    return wrt.map((w) => total(w) ?? this.zerosLike(w));
  }

  toModel(metadata: Record<string, string> = {}): Model {
    return this.builder.toModel({ metadata });
  }
}
