/**
 * Static checks of a model, run before handing it to onnxruntime so that a broken edit is
 * reported by name (which node, which value, which dimensions) instead of as an ORT load
 * error. Shape checks cover the ops Distillery's decoders use; values whose shape cannot
 * be followed (unsupported op, symbolic dims) are simply not checked.
 */
import { byteLength, elementCount } from './dtype';
import { findCycle, nodeReads, normalizeDomain, topologicalOrder } from './graph-edit';
import type { Dim, Graph, Model, Node, Tensor } from './model';
import { tensorNumbers } from './tensor-convert';

export type IssueKind =
  | 'dangling-input'
  | 'duplicate-producer'
  | 'duplicate-initializer'
  | 'output-not-produced'
  | 'cycle'
  | 'missing-opset'
  | 'shape-mismatch'
  | 'tensor-size';

export interface ValidationIssue {
  kind: IssueKind;
  message: string;
  node?: string;
  value?: string;
}

type Shape = Dim[];

const fmt = (s: Shape) => `[${s.map((d) => (d === null ? '?' : d)).join(',')}]`;

function label(n: Node, i: number): string {
  return `${n.opType} "${n.name || `#${i}`}"`;
}

function checkStructure(graph: Graph, issues: ValidationIssue[]): void {
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const inits = new Set<string>();
  for (const t of graph.initializers) {
    if (inits.has(t.name)) {
      issues.push({ kind: 'duplicate-initializer', message: `initializer "${t.name}" is defined more than once`, value: t.name });
    }
    inits.add(t.name);
    if (t.dtype !== 'string' && t.raw.byteLength !== byteLength(t.dtype, t.dims)) {
      issues.push({
        kind: 'tensor-size',
        message: `initializer "${t.name}": ${t.raw.byteLength} bytes for ${t.dtype}${fmt(t.dims)} (expected ${byteLength(t.dtype, t.dims)})`,
        value: t.name,
      });
    }
  }
  const producedBy = new Map<string, string>();
  graph.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o) continue;
      const who = label(n, i);
      const prior = producedBy.get(o) ?? (inputs.has(o) ? 'a graph input' : inits.has(o) ? 'an initializer' : undefined);
      if (prior) {
        issues.push({ kind: 'duplicate-producer', message: `value "${o}" is produced by ${prior} and by ${who}`, node: n.name, value: o });
      } else producedBy.set(o, who);
    }
  });
  const defined = (v: string) => inputs.has(v) || inits.has(v) || producedBy.has(v);
  graph.nodes.forEach((n, i) => {
    for (const v of nodeReads(n)) {
      if (!defined(v)) {
        issues.push({ kind: 'dangling-input', message: `${label(n, i)} reads "${v}", which nothing produces`, node: n.name, value: v });
      }
    }
  });
  for (const o of graph.outputs) {
    if (!defined(o.name)) issues.push({ kind: 'output-not-produced', message: `graph output "${o.name}" is never produced`, value: o.name });
  }
  const cycle = findCycle(graph);
  if (cycle) issues.push({ kind: 'cycle', message: `cycle: ${cycle.join(' -> ')}`, node: cycle[0] });
}

function checkOpsets(model: Model, graph: Graph, issues: ValidationIssue[]): void {
  const imported = new Set(model.opsetImports.map((o) => normalizeDomain(o.domain)));
  graph.nodes.forEach((n, i) => {
    const d = normalizeDomain(n.domain);
    if (!imported.has(d)) {
      issues.push({
        kind: 'missing-opset',
        message: `${label(n, i)} uses domain "${d || 'ai.onnx'}", which the model does not import`,
        node: n.name,
      });
    }
    for (const a of Object.values(n.attributes)) if (a.type === 'graph') checkOpsets(model, a.value, issues);
  });
}

// ---------- shape propagation ----------

class Mismatch extends Error {}

/** NumPy broadcasting (onnx/docs/Broadcasting.md); unknown and symbolic dims never mismatch. */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const y = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) throw new Mismatch(`shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dimension ${x} vs ${y})`);
      out.push(x);
    } else if (typeof x === 'number') out.push(x);
    else if (typeof y === 'number') out.push(y);
    else out.push(x === y ? x : null);
  }
  return out;
}

function sameDim(x: Dim, y: Dim): boolean {
  return !(typeof x === 'number' && typeof y === 'number' && x !== y);
}

function matmulShape(a: Shape, b: Shape): Shape {
  if (a.length === 0 || b.length === 0) throw new Mismatch('MatMul of a scalar');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = a2[a2.length - 1]!;
  const k2 = b2[b2.length - 2]!;
  if (!sameDim(k1, k2)) throw new Mismatch(`inner dimensions ${k1} vs ${k2} (${fmt(a)} x ${fmt(b)})`);
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return out;
}

const UNARY = new Set([
  'Identity', 'Cast', 'CastLike', 'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Relu', 'Tanh', 'Exp', 'Log', 'Erf',
  'Softmax', 'LogSoftmax', 'Gelu', 'FastGelu', 'QuickGelu', 'Not', 'Sin', 'Cos', 'Floor', 'Ceil', 'Round', 'Dropout',
  'LayerNormalization', 'SimplifiedLayerNormalization', 'RMSNormalization', 'SkipSimplifiedLayerNormalization',
  'DequantizeLinear', 'QuantizeLinear', 'Clip', 'IsNaN', 'Sign',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where', 'Sum']);

function intAttr(n: Node, name: string, dflt: number): number {
  const a = n.attributes[name];
  return a && a.type === 'int' ? a.value : dflt;
}

function intsAttr(n: Node, name: string): number[] | undefined {
  const a = n.attributes[name];
  return a && a.type === 'ints' ? a.value : undefined;
}

/** Output shapes of one node given its input shapes; undefined entries are unknown. Throws Mismatch. */
function inferNode(n: Node, shapes: (Shape | undefined)[], consts: (Tensor | undefined)[]): (Shape | undefined)[] {
  const [a, b] = shapes;
  const op = normalizeDomain(n.domain) === '' || n.domain === 'com.microsoft' ? n.opType : '';
  if (UNARY.has(op)) return [a];
  if (BROADCAST.has(op)) {
    if (shapes.some((s) => s === undefined)) return [undefined];
    return [shapes.reduce<Shape>((acc, s) => broadcastShapes(acc, s!), [])];
  }
  switch (op) {
    case 'MatMul':
    case 'MatMulInteger':
      return a && b ? [matmulShape(a, b)] : [undefined];
    case 'MatMulNBits': {
      const k = intAttr(n, 'K', -1);
      const nOut = intAttr(n, 'N', -1);
      if (!a || a.length === 0) return [undefined];
      const ka = a[a.length - 1]!;
      if (!sameDim(ka, k)) throw new Mismatch(`inner dimensions ${ka} vs ${k} (input ${fmt(a)}, K=${k})`);
      return [[...a.slice(0, -1), nOut]];
    }
    case 'Gemm': {
      if (!a || !b) return [undefined];
      if (a.length !== 2 || b.length !== 2) throw new Mismatch(`Gemm needs 2-D inputs, got ${fmt(a)} and ${fmt(b)}`);
      const [m, k1] = intAttr(n, 'transA', 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
      const [k2, nn] = intAttr(n, 'transB', 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
      if (!sameDim(k1, k2)) throw new Mismatch(`inner dimensions ${k1} vs ${k2} (${fmt(a)} x ${fmt(b)})`);
      const c = shapes[2];
      if (c) broadcastShapes([m, nn], c);
      return [[m, nn]];
    }
    case 'Gather': {
      if (!a || !b) return [undefined];
      let axis = intAttr(n, 'axis', 0);
      if (axis < 0) axis += a.length;
      const size = a[axis];
      const idx = consts[1];
      if (typeof size === 'number' && idx && idx.dtype !== 'string') {
        for (const v of tensorNumbers(idx)) {
          if (v >= size || v < -size) throw new Mismatch(`index ${v} out of range for axis ${axis} of size ${size} (data ${fmt(a)})`);
        }
      }
      return [[...a.slice(0, axis), ...b, ...a.slice(axis + 1)]];
    }
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceSumSquare':
    case 'ReduceL2': {
      if (!a) return [undefined];
      // Axes moved from attribute to second input in opset 18 (13 for ReduceSum).
      const axes = intsAttr(n, 'axes') ?? (consts[1] ? [...tensorNumbers(consts[1])] : n.inputs[1] ? undefined : []);
      if (!axes) return [undefined];
      const norm = new Set(axes.map((x) => (x < 0 ? x + a.length : x)));
      const all = norm.size === 0 && intAttr(n, 'noop_with_empty_axes', 0) === 0;
      const keep = intAttr(n, 'keepdims', 1) === 1;
      const out: Shape = [];
      a.forEach((d, i) => {
        if (!all && !norm.has(i)) out.push(d);
        else if (keep) out.push(1);
      });
      return [out];
    }
    case 'Unsqueeze': {
      const axes = intsAttr(n, 'axes') ?? (consts[1] ? [...tensorNumbers(consts[1])] : undefined);
      if (!a || !axes) return [undefined];
      const rank = a.length + axes.length;
      const at = new Set(axes.map((x) => (x < 0 ? x + rank : x)));
      const out: Shape = [];
      for (let i = 0, j = 0; i < rank; i++) out.push(at.has(i) ? 1 : a[j++]!);
      return [out];
    }
    case 'Squeeze': {
      const axes = intsAttr(n, 'axes') ?? (consts[1] ? [...tensorNumbers(consts[1])] : undefined);
      if (!a || !axes) return [undefined];
      const at = new Set(axes.map((x) => (x < 0 ? x + a.length : x)));
      return [a.filter((_, i) => !at.has(i))];
    }
    case 'Concat': {
      if (shapes.some((x) => !x)) return [undefined];
      const rank = a!.length;
      let axis = intAttr(n, 'axis', 0);
      if (axis < 0) axis += rank;
      const out = [...a!];
      for (const x of shapes.slice(1)) {
        if (x!.length !== rank) throw new Mismatch(`inputs of rank ${rank} and ${x!.length} cannot be concatenated`);
        x!.forEach((d, i) => {
          if (i === axis) out[i] = typeof out[i] === 'number' && typeof d === 'number' ? (out[i] as number) + d : null;
          else if (!sameDim(out[i]!, d)) throw new Mismatch(`shapes ${fmt(a!)} and ${fmt(x!)} differ outside axis ${axis}`);
        });
      }
      return [out];
    }
    case 'Shape':
      return [a ? [a.length] : undefined];
    case 'Transpose': {
      if (!a) return [undefined];
      const perm = intsAttr(n, 'perm') ?? a.map((_, i) => a.length - 1 - i);
      if (perm.length !== a.length) throw new Mismatch(`perm [${perm.join(',')}] does not match rank ${a.length}`);
      return [perm.map((p) => a[p]!)];
    }
    case 'Reshape': {
      const target = consts[1];
      if (!target) return [undefined];
      const want = [...tensorNumbers(target)];
      const allowZero = intAttr(n, 'allowzero', 0) === 1;
      const out: Shape = want.map((d, i) => (d === 0 && !allowZero ? (a ? a[i] ?? null : null) : d === -1 ? null : d));
      if (!a || !a.every((d) => typeof d === 'number')) return [out];
      const total = elementCount(a as number[]);
      const known = out.filter((d): d is number => typeof d === 'number');
      const prod = elementCount(known);
      const inferred = want.indexOf(-1);
      if (inferred >= 0) {
        if (prod === 0 || total % prod !== 0) throw new Mismatch(`cannot reshape ${fmt(a)} (${total} elements) to [${want.join(',')}]`);
        out[inferred] = total / prod;
      } else if (known.length === out.length && prod !== total) {
        throw new Mismatch(`cannot reshape ${fmt(a)} (${total} elements) to [${want.join(',')}]`);
      }
      return [out];
    }
    default:
      return n.outputs.map(() => undefined);
  }
}

function checkShapes(graph: Graph, issues: ValidationIssue[]): void {
  const shapes = new Map<string, Shape>();
  const consts = new Map<string, Tensor>();
  for (const v of [...graph.inputs, ...graph.valueInfo]) if (v.shape) shapes.set(v.name, v.shape);
  for (const t of graph.initializers) {
    shapes.set(t.name, t.dims);
    consts.set(t.name, t);
  }
  const declared = new Map<string, Shape>();
  for (const v of [...graph.valueInfo, ...graph.outputs]) if (v.shape) declared.set(v.name, v.shape);
  const position = new Map(graph.nodes.map((n, i) => [n, i]));
  for (const n of topologicalOrder(graph)) {
    const i = position.get(n)!;
    if (n.opType === 'Constant' && normalizeDomain(n.domain) === '') {
      const v = n.attributes.value;
      if (v?.type === 'tensor' && n.outputs[0]) {
        consts.set(n.outputs[0], v.value);
        shapes.set(n.outputs[0], v.value.dims);
      }
      continue;
    }
    let outs: (Shape | undefined)[];
    try {
      outs = inferNode(
        n,
        n.inputs.map((v) => shapes.get(v)),
        n.inputs.map((v) => consts.get(v)),
      );
    } catch (e) {
      if (!(e instanceof Mismatch)) throw e;
      issues.push({ kind: 'shape-mismatch', message: `${label(n, i)}: ${e.message}`, node: n.name });
      continue;
    }
    n.outputs.forEach((o, j) => {
      const s = outs[j];
      if (!o || !s) return;
      const d = declared.get(o);
      if (d && (d.length !== s.length || d.some((x, k) => !sameDim(x, s[k]!)))) {
        issues.push({ kind: 'shape-mismatch', message: `value "${o}" is declared ${fmt(d)} but ${label(n, i)} computes ${fmt(s)}`, node: n.name, value: o });
      }
      shapes.set(o, s);
    });
  }
}

/** Every problem found, in a stable order (structure, opsets, shapes); empty when the model looks valid. */
export function validate(model: Model): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  checkStructure(model.graph, issues);
  checkOpsets(model, model.graph, issues);
  // Shape propagation walks nodes in order, so it is meaningless on a cyclic graph.
  if (!issues.some((i) => i.kind === 'cycle')) checkShapes(model.graph, issues);
  return issues;
}

export function assertValid(model: Model): void {
  const issues = validate(model);
  if (issues.length) {
    throw new Error(`model "${model.graph.name}" is invalid (${issues.length} issue${issues.length > 1 ? 's' : ''}):\n${issues.map((i) => `- ${i.message}`).join('\n')}`);
  }
}
