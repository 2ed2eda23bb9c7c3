/**
 * Raising a model's default-domain opset so newer ops (int4 and blocked DequantizeLinear
 * need 21) can be added, rewriting the ops whose form changed on the way: opset 18 moved
 * the `axes` of ReduceMax/ReduceMean/... (not ReduceSum, moved at 13) from an attribute
 * to an input. `raiseOpset(model, 21)` returns a new model; graphs at or above the target
 * are returned unchanged.
 */
import { getOpsetVersion, makeTensor, type Model, type Node, type Tensor } from '@distillery/onnx';

function withAxesInputs(nodes: Node[], initializers: Tensor[]): Node[] {
  let k = 0;
  return nodes.map((n) => {
    const axes = n.attributes.axes;
    if (n.domain !== '' || !n.opType.startsWith('Reduce') || n.opType === 'ReduceSum' || axes?.type !== 'ints') return n;
    const name = `${n.name || n.opType}/axes_${k++}`;
    initializers.push(makeTensor(name, 'int64', [axes.value.length], BigInt64Array.from(axes.value.map((a) => BigInt(a)))));
    const { axes: _dropped, ...attributes } = n.attributes;
    return { ...n, inputs: [n.inputs[0]!, name], attributes };
  });
}

export function raiseOpset(model: Model, version: number): Model {
  const current = getOpsetVersion(model, '') ?? 1;
  if (current >= version) return model;
  // Below 13 many ops changed form (Squeeze/Unsqueeze/Split/ReduceSum axes); re-exporting is safer than rewriting them all.
  if (current < 13) throw new Error(`the rewrite needs opset >= ${Math.max(13, Math.min(version, 13))} and this model imports opset ${current}; re-export it at opset 13 or later`);
  const initializers = [...model.graph.initializers];
  const nodes = current < 18 && version >= 18 ? withAxesInputs(model.graph.nodes, initializers) : model.graph.nodes;
  const opsetImports = [{ domain: '', version }, ...model.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')];
  // int4 element types need IR version 10.
  const irVersion = version >= 21 ? Math.max(model.irVersion, 10) : model.irVersion;
  return { ...model, irVersion, opsetImports, graph: { ...model.graph, nodes, initializers } };
}
