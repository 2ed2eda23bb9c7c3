/**
 * The generic "did this step do anything" check: a step whose output has the same graph
 * (nodes, their wiring and attributes) and the same weights (every initializer's name,
 * type, shape and bytes) as its input changed nothing, and a recipe step that changes
 * nothing is a failure (a skip list naming every layer, a threshold above every layer),
 * whatever the technique's own report says. Metadata and producer fields do not count.
 */
import { createHash, type Hash } from 'node:crypto';
import type { AttributeValue, Graph, Model, Tensor } from '@distillery/onnx';

function hashTensor(h: Hash, t: Tensor): void {
  h.update(`T${t.name}\0${t.dtype}\0${t.dims.join(',')}\0${t.raw.byteLength}\0`);
  h.update(t.raw);
}

function hashAttribute(h: Hash, name: string, a: AttributeValue): void {
  h.update(`A${name}\0${a.type}\0`);
  if (a.type === 'tensor') hashTensor(h, a.value);
  else if (a.type === 'graph') hashGraph(h, a.value);
  else h.update(JSON.stringify(a.value));
}

function hashGraph(h: Hash, g: Graph): void {
  for (const n of g.nodes) {
    h.update(`N${n.opType}\0${n.domain}\0${n.inputs.join('\u0001')}\0${n.outputs.join('\u0001')}\0`);
    for (const key of Object.keys(n.attributes).sort()) hashAttribute(h, key, n.attributes[key]!);
  }
  // Order of initializers carries no meaning; their names do.
  for (const t of [...g.initializers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) hashTensor(h, t);
  h.update(`I${g.inputs.map((v) => v.name).join('\u0001')}\0O${g.outputs.map((v) => v.name).join('\u0001')}\0`);
}

/** sha256 of what makes a model compute what it computes: graph structure and weights. */
export function computeFingerprint(model: Model): string {
  const h = createHash('sha256');
  for (const o of model.opsetImports) h.update(`S${o.domain}\0${o.version}\0`);
  hashGraph(h, model.graph);
  return h.digest('hex');
}

/** Why a step's output is no change at all, or null when it changed something. */
export function unchangedReason(input: Model, output: Model): string | null {
  if (computeFingerprint(input) !== computeFingerprint(output)) return null;
  return 'the output model has the same graph and the same weights as its input, so the step changed nothing (check its parameters, e.g. a skip list naming every layer)';
}
