/**
 * Editing graphs in place: nodes, initializers, value renames, dead-code elimination,
 * topological order and opset imports. Techniques rewrite models through these so that
 * every edit keeps the graph's references consistent. Functions mutate the graph or model
 * they are given (like GraphBuilder) and return what they changed.
 */
import type { Graph, Model, Node, Tensor } from './model';

/** The domain ONNX Runtime's contrib ops (MatMulNBits, QuickGelu, ...) live in. */
export const MS_DOMAIN = 'com.microsoft';

/** '' and 'ai.onnx' both name the default ONNX domain. */
export function normalizeDomain(domain: string): string {
  return domain === 'ai.onnx' ? '' : domain;
}

// ---------- values consumed by nodes, including from inside subgraphs ----------

function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attributes)) if (a.type === 'graph') out.push(a.value);
  return out;
}

/** Values a subgraph reads from the enclosing scope (not defined inside it). */
function outerReferences(g: Graph, into: Set<string>): void {
  const local = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.map((t) => t.name)]);
  for (const n of g.nodes) for (const o of n.outputs) local.add(o);
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !local.has(i)) into.add(i);
    for (const sg of subgraphsOf(n)) {
      const inner = new Set<string>();
      outerReferences(sg, inner);
      for (const i of inner) if (!local.has(i)) into.add(i);
    }
  }
  for (const o of g.outputs) if (!local.has(o.name)) into.add(o.name);
}

/** Every value a node reads: its inputs ('' = omitted optional input is skipped) plus subgraph captures. */
export function nodeReads(node: Node): string[] {
  const reads = new Set(node.inputs.filter((i) => i !== ''));
  for (const sg of subgraphsOf(node)) outerReferences(sg, reads);
  return [...reads];
}

/** value name -> index of the node producing it (the first one, if several do). */
export function producerIndex(graph: Graph): Map<string, number> {
  const m = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o && !m.has(o)) m.set(o, i);
  });
  return m;
}

/** value name -> nodes reading it. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const v of nodeReads(n)) {
      const list = m.get(v);
      if (list) list.push(n);
      else m.set(v, [n]);
    }
  }
  return m;
}

export function findNode(graph: Graph, name: string): Node | undefined {
  return graph.nodes.find((n) => n.name === name);
}

export function findInitializer(graph: Graph, name: string): Tensor | undefined {
  return graph.initializers.find((t) => t.name === name);
}

// ---------- nodes ----------

function nodeIndex(graph: Graph, node: string | Node): number {
  const i = typeof node === 'string' ? graph.nodes.findIndex((n) => n.name === node) : graph.nodes.indexOf(node);
  if (i < 0) throw new Error(`node ${typeof node === 'string' ? `"${node}"` : `"${node.name}"`} is not in graph "${graph.name}"`);
  return i;
}

/** Insert nodes (at the end, or before an existing node). Order need not be topological; see sortTopologically. */
export function addNodes(graph: Graph, nodes: Node[], opts: { before?: string | Node } = {}): void {
  const at = opts.before === undefined ? graph.nodes.length : nodeIndex(graph, opts.before);
  graph.nodes.splice(at, 0, ...nodes);
}

export function addNode(graph: Graph, node: Node, opts: { before?: string | Node } = {}): Node {
  addNodes(graph, [node], opts);
  return node;
}

export function removeNode(graph: Graph, node: string | Node): Node {
  return graph.nodes.splice(nodeIndex(graph, node), 1)[0]!;
}

/** Replace one node by zero or more nodes at the same position. */
export function replaceNode(graph: Graph, node: string | Node, replacement: Node | Node[]): Node {
  const i = nodeIndex(graph, node);
  const old = graph.nodes[i]!;
  graph.nodes.splice(i, 1, ...(Array.isArray(replacement) ? replacement : [replacement]));
  return old;
}

// ---------- initializers ----------

export function addInitializer(graph: Graph, t: Tensor): Tensor {
  if (findInitializer(graph, t.name)) throw new Error(`initializer "${t.name}" already exists in graph "${graph.name}"`);
  graph.initializers.push(t);
  return t;
}

export function removeInitializer(graph: Graph, name: string): Tensor {
  const i = graph.initializers.findIndex((t) => t.name === name);
  if (i < 0) throw new Error(`initializer "${name}" is not in graph "${graph.name}"`);
  return graph.initializers.splice(i, 1)[0]!;
}

/** Swap an initializer for another of the same name (new data, dtype or shape). */
export function replaceInitializer(graph: Graph, t: Tensor): Tensor {
  const i = graph.initializers.findIndex((x) => x.name === t.name);
  if (i < 0) throw new Error(`initializer "${t.name}" is not in graph "${graph.name}"`);
  const old = graph.initializers[i]!;
  graph.initializers[i] = t;
  return old;
}

// ---------- renaming ----------

function definesLocally(g: Graph, name: string): boolean {
  return (
    g.inputs.some((v) => v.name === name) ||
    g.initializers.some((t) => t.name === name) ||
    g.nodes.some((n) => n.outputs.includes(name))
  );
}

function renameIn(g: Graph, from: string, to: string, isSubgraph: boolean): number {
  // A subgraph that defines its own `from` shadows the outer one: leave it alone.
  if (isSubgraph && definesLocally(g, from)) return 0;
  let count = 0;
  const swap = (s: string) => {
    if (s !== from) return s;
    count++;
    return to;
  };
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(swap);
    if (!isSubgraph) n.outputs = n.outputs.map(swap);
    for (const sg of subgraphsOf(n)) count += renameIn(sg, from, to, true);
  }
  if (isSubgraph) {
    for (const v of g.outputs) if (v.name === from) (v.name = to), count++;
    return count;
  }
  for (const list of [g.inputs, g.outputs, g.valueInfo]) for (const v of list) if (v.name === from) (v.name = to), count++;
  for (const t of g.initializers) if (t.name === from) (t.name = to), count++;
  return count;
}

/**
 * Rename a value everywhere it appears: node inputs/outputs, graph inputs/outputs,
 * initializers, value_info, and outer-scope references inside subgraphs. Throws if `to`
 * is already in use. Returns how many references changed.
 */
export function renameValue(graph: Graph, from: string, to: string): number {
  if (from === to) return 0;
  if (definesLocally(graph, to) || graph.outputs.some((v) => v.name === to)) {
    throw new Error(`cannot rename "${from}" to "${to}": "${to}" is already used in graph "${graph.name}"`);
  }
  return renameIn(graph, from, to, false);
}

// ---------- dead code ----------

/**
 * Remove nodes that no graph output depends on, then initializers nothing reads.
 * Graph inputs are kept (they are the model's interface).
 */
export function eliminateDeadCode(graph: Graph): { removedNodes: Node[]; removedInitializers: string[] } {
  const producer = producerIndex(graph);
  const live = new Set<number>();
  const needed = new Set<string>();
  const stack = graph.outputs.map((o) => o.name);
  while (stack.length) {
    const v = stack.pop()!;
    if (needed.has(v)) continue;
    needed.add(v);
    const p = producer.get(v);
    if (p === undefined || live.has(p)) continue;
    live.add(p);
    stack.push(...nodeReads(graph.nodes[p]!));
  }
  const removedNodes = graph.nodes.filter((_, i) => !live.has(i));
  graph.nodes = graph.nodes.filter((_, i) => live.has(i));
  return { removedNodes, removedInitializers: removeUnusedInitializers(graph) };
}

/** Drop initializers no node reads and no graph output names; returns their names. */
export function removeUnusedInitializers(graph: Graph): string[] {
  const used = new Set<string>(graph.outputs.map((o) => o.name));
  for (const n of graph.nodes) for (const v of nodeReads(n)) used.add(v);
  const removed = graph.initializers.filter((t) => !used.has(t.name)).map((t) => t.name);
  if (removed.length) graph.initializers = graph.initializers.filter((t) => used.has(t.name));
  return removed;
}

// ---------- order ----------

/** A cycle as node names [a, b, ..., a], or null if the graph is acyclic. */
export function findCycle(graph: Graph): string[] | null {
  const producer = producerIndex(graph);
  const state = new Uint8Array(graph.nodes.length); // 0 new, 1 on stack, 2 done
  const path: number[] = [];
  // Iterative DFS: decoder graphs have thousands of nodes in a chain, too deep for recursion.
  for (let root = 0; root < graph.nodes.length; root++) {
    if (state[root]) continue;
    const stack: { node: number; deps: number[]; next: number }[] = [];
    const push = (i: number) => {
      state[i] = 1;
      path.push(i);
      const deps = nodeReads(graph.nodes[i]!)
        .map((v) => producer.get(v))
        .filter((p): p is number => p !== undefined);
      stack.push({ node: i, deps, next: 0 });
    };
    push(root);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.deps.length) {
        state[top.node] = 2;
        path.pop();
        stack.pop();
        continue;
      }
      const d = top.deps[top.next++]!;
      if (state[d] === 1) {
        const cyc = path.slice(path.indexOf(d)).map((i) => graph.nodes[i]!.name || `#${i}`);
        // path runs consumer -> producer; report in data-flow order.
        cyc.reverse();
        return [...cyc, cyc[0]!];
      }
      if (state[d] === 0) push(d);
    }
  }
  return null;
}

/**
 * Nodes in an order where every producer precedes its consumers, keeping the existing
 * order where it is already valid (Kahn's algorithm with a min-index queue). Throws
 * naming the nodes of a cycle.
 */
export function topologicalOrder(graph: Graph): Node[] {
  const producer = producerIndex(graph);
  const n = graph.nodes.length;
  const indegree = new Int32Array(n);
  const dependents: number[][] = Array.from({ length: n }, () => []);
  graph.nodes.forEach((node, i) => {
    for (const p of new Set(nodeReads(node).map((v) => producer.get(v)))) {
      if (p === undefined) continue;
      indegree[i]++;
      dependents[p]!.push(i);
    }
  });
  // A binary heap on node index keeps the original order among ready nodes.
  const heap: number[] = [];
  const pushHeap = (x: number) => {
    heap.push(x);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]! <= x) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = x;
  };
  const popHeap = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < heap.length && heap[l]! < mv) (m = l), (mv = heap[l]!);
        if (r < heap.length && heap[r]! < mv) m = r;
        if (m === i) break;
        heap[i] = heap[m]!;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i < n; i++) if (indegree[i] === 0) pushHeap(i);
  const order: Node[] = [];
  while (heap.length) {
    const i = popHeap();
    order.push(graph.nodes[i]!);
    for (const d of dependents[i]!) if (--indegree[d] === 0) pushHeap(d);
  }
  if (order.length < n) {
    const cycle = findCycle(graph);
    throw new Error(`graph "${graph.name}" has a cycle: ${cycle ? cycle.join(' -> ') : 'unknown'}`);
  }
  return order;
}

/** Reorder graph.nodes topologically, in place. */
export function sortTopologically(graph: Graph): void {
  graph.nodes = topologicalOrder(graph);
}

// ---------- opsets ----------

export function getOpsetVersion(model: Model, domain = ''): number | undefined {
  const d = normalizeDomain(domain);
  return model.opsetImports.find((o) => normalizeDomain(o.domain) === d)?.version;
}

export function setOpsetVersion(model: Model, domain: string, version: number): void {
  const d = normalizeDomain(domain);
  const existing = model.opsetImports.find((o) => normalizeDomain(o.domain) === d);
  if (existing) existing.version = version;
  else model.opsetImports.push({ domain: d, version });
}

/** Import `domain` at `minVersion` at least (raising an older import). */
export function ensureOpset(model: Model, domain: string, minVersion: number): void {
  const v = getOpsetVersion(model, domain);
  if (v === undefined || v < minVersion) setOpsetVersion(model, domain, minVersion);
}

/** Add a node to the model's main graph, importing its domain if needed (com.microsoft is version 1). */
export function addModelNode(model: Model, node: Node, opts: { before?: string | Node; opsetVersion?: number } = {}): Node {
  const domain = normalizeDomain(node.domain);
  if (domain !== '' || opts.opsetVersion !== undefined) ensureOpset(model, domain, opts.opsetVersion ?? 1);
  return addNode(model.graph, node, opts);
}
