// Graph editing: references stay consistent after edits; topological order is Kahn's
// algorithm (Kahn 1962, "Topological sorting of large networks").
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  MS_DOMAIN,
  addInitializer,
  addModelNode,
  addNode,
  attr,
  consumers,
  eliminateDeadCode,
  emptyGraph,
  ensureOpset,
  findCycle,
  float32Tensor,
  getOpsetVersion,
  removeInitializer,
  removeNode,
  removeUnusedInitializers,
  renameValue,
  replaceInitializer,
  replaceNode,
  runGraph,
  releaseGraph,
  setOpsetVersion,
  sortTopologically,
  topologicalOrder,
  validate,
  type Graph,
  type Node,
} from '../src/index';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = {}): Node => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes,
});

/** x -> Relu(a) -> Neg(b) -> y, with a dead branch Sigmoid(x) using initializer "w". */
function chain(): Graph {
  const g = emptyGraph('chain');
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [2] });
  g.outputs.push({ name: 'y', dtype: 'float32', shape: [2] });
  g.initializers.push(float32Tensor('w', [2], [1, 2]), float32Tensor('k', [2], [3, 4]));
  g.nodes.push(
    node('relu', 'Relu', ['x'], ['a']),
    node('dead', 'Mul', ['x', 'w'], ['d']),
    node('add', 'Add', ['a', 'k'], ['b']),
    node('neg', 'Neg', ['b'], ['y']),
  );
  return g;
}

/** Is every producer before its consumers? (the definition of a topological order) */
function isTopological(nodes: Node[]): boolean {
  const seen = new Set<string>();
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  for (const n of nodes) {
    if (n.inputs.some((i) => produced.has(i) && !seen.has(i))) return false;
    for (const o of n.outputs) seen.add(o);
  }
  return true;
}

describe('graph editing', () => {
  it('adds, removes and replaces nodes and initializers', () => {
    const g = chain();
    addNode(g, node('first', 'Identity', ['x'], ['x2']), { before: 'relu' });
    expect(g.nodes[0]!.name).toBe('first');
    expect(removeNode(g, 'first').outputs).toEqual(['x2']);
    replaceNode(g, 'neg', [node('neg1', 'Neg', ['b'], ['t']), node('id', 'Identity', ['t'], ['y'])]);
    expect(g.nodes.map((n) => n.name)).toEqual(['relu', 'dead', 'add', 'neg1', 'id']);
    expect(() => removeNode(g, 'nope')).toThrow(/node "nope" is not in graph "chain"/);

    expect(() => addInitializer(g, float32Tensor('w', [1], [0]))).toThrow(/initializer "w" already exists/);
    replaceInitializer(g, float32Tensor('k', [1], [9]));
    expect(g.initializers.find((t) => t.name === 'k')!.dims).toEqual([1]);
    removeInitializer(g, 'w');
    expect(g.initializers.map((t) => t.name)).toEqual(['k']);
    expect(() => removeInitializer(g, 'w')).toThrow(/initializer "w" is not in graph/);
  });

  it('renames a value everywhere, including subgraph captures, and refuses taken names', () => {
    const g = chain();
    g.valueInfo.push({ name: 'a', dtype: 'float32', shape: [2] });
    const sub = emptyGraph('then');
    sub.nodes.push(node('inner', 'Identity', ['a'], ['r']));
    sub.outputs.push({ name: 'r', dtype: 'float32' });
    g.nodes.push(node('if', 'If', ['cond'], ['z'], { then_branch: attr.graph(sub), else_branch: attr.graph(sub) }));
    const n = renameValue(g, 'a', 'relu_out');
    expect(g.nodes[0]!.outputs).toEqual(['relu_out']);
    expect(g.nodes[2]!.inputs).toEqual(['relu_out', 'k']);
    expect(g.valueInfo[0]!.name).toBe('relu_out');
    expect(sub.nodes[0]!.inputs).toEqual(['relu_out']);
    expect(n).toBe(4); // Relu output, Add input, value_info, and the (shared) subgraph's input

    renameValue(g, 'w', 'weight');
    expect(g.initializers[0]!.name).toBe('weight');
    expect(g.nodes[1]!.inputs).toEqual(['x', 'weight']);
    renameValue(g, 'y', 'out');
    expect(g.outputs[0]!.name).toBe('out');
    expect(() => renameValue(g, 'x', 'k')).toThrow(/"k" is already used/);
  });

  it('eliminates dead nodes and then unused initializers', () => {
    const g = chain();
    const r = eliminateDeadCode(g);
    expect(r.removedNodes.map((n) => n.name)).toEqual(['dead']);
    expect(r.removedInitializers).toEqual(['w']);
    expect(g.nodes.map((n) => n.name)).toEqual(['relu', 'add', 'neg']);
    expect(validate({ irVersion: 8, opsetImports: [{ domain: '', version: 17 }], producerName: '', producerVersion: '', metadata: {}, graph: g })).toEqual([]);
    g.initializers.push(float32Tensor('orphan', [1], [0]));
    expect(removeUnusedInitializers(g)).toEqual(['orphan']);
  });

  it('keeps nodes a subgraph reads from the outer scope', () => {
    const g = emptyGraph('outer');
    g.inputs.push({ name: 'c', dtype: 'bool', shape: [] });
    const body = emptyGraph('b');
    body.nodes.push(node('use', 'Identity', ['captured'], ['o']));
    body.outputs.push({ name: 'o', dtype: 'float32' });
    g.nodes.push(node('make', 'Constant', [], ['captured'], { value: attr.tensor(float32Tensor('v', [1], [1])) }));
    g.nodes.push(node('if', 'If', ['c'], ['y'], { then_branch: attr.graph(body), else_branch: attr.graph(body) }));
    g.outputs.push({ name: 'y', dtype: 'float32' });
    expect(eliminateDeadCode(g).removedNodes).toEqual([]);
    expect(consumers(g).get('captured')!.map((n) => n.name)).toEqual(['if']);
  });

  it('sorts topologically, keeping valid order, and the result runs in onnxruntime', async () => {
    const g = chain();
    g.nodes.reverse();
    expect(isTopological(g.nodes)).toBe(false);
    sortTopologically(g);
    expect(isTopological(g.nodes)).toBe(true);
    // Among ready nodes the earlier one goes first: [neg, add, dead, relu] -> dead, relu, add, neg.
    expect(g.nodes.map((n) => n.name)).toEqual(['dead', 'relu', 'add', 'neg']);
    const model = { irVersion: 8, opsetImports: [{ domain: '', version: 17 }], producerName: '', producerVersion: '', metadata: {}, graph: g };
    const out = await runGraph(model, { x: { dtype: 'float32', dims: [2], data: Float32Array.from([-1, 2]) } });
    await releaseGraph(model);
    expect([...(out.y!.data as Float32Array)]).toEqual([-3, -6]);
  });

  it('orders a long chain without recursion limits', () => {
    const g = emptyGraph('long');
    for (let i = 0; i < 20_000; i++) g.nodes.push(node(`n${i}`, 'Neg', [`v${i}`], [`v${i + 1}`]));
    g.nodes.reverse();
    const order = topologicalOrder(g);
    expect(order[0]!.name).toBe('n0');
    expect(order[19_999]!.name).toBe('n19999');
    expect(findCycle(g)).toBeNull();
  });

  it('throws naming the nodes of a cycle', () => {
    const g = chain();
    g.nodes.push(node('loop_a', 'Neg', ['q'], ['p']), node('loop_b', 'Relu', ['p'], ['q']));
    expect(() => topologicalOrder(g)).toThrow(/graph "chain" has a cycle: (loop_a -> loop_b -> loop_a|loop_b -> loop_a -> loop_b)/);
    const cycle = findCycle(g)!;
    expect(new Set(cycle)).toEqual(new Set(['loop_a', 'loop_b']));
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
  });

  it('reads, sets and ensures opset imports; contrib nodes import com.microsoft', () => {
    const b = new GraphBuilder();
    const model = b.toModel();
    expect(getOpsetVersion(model)).toBe(17);
    expect(getOpsetVersion(model, 'ai.onnx')).toBe(17);
    ensureOpset(model, '', 13);
    expect(getOpsetVersion(model)).toBe(17);
    ensureOpset(model, '', 21);
    expect(getOpsetVersion(model)).toBe(21);
    setOpsetVersion(model, '', 18);
    expect(getOpsetVersion(model)).toBe(18);
    expect(getOpsetVersion(model, MS_DOMAIN)).toBeUndefined();
    addModelNode(model, { ...node('qg', 'QuickGelu', ['x'], ['y']), domain: MS_DOMAIN });
    expect(getOpsetVersion(model, MS_DOMAIN)).toBe(1);
    expect(model.opsetImports).toHaveLength(2);
  });
});
