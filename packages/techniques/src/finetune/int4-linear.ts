/**
 * Replaces float MatMul weights of a decoder by 4-bit integers dequantized in the graph:
 * DequantizeLinear(int4 packed [in, out], scale, axis 1) for one scale per output
 * channel, or blocked DequantizeLinear (axis 0, block_size = group) for grouped scales.
 * int4 and blocked DequantizeLinear need opset 21 (IR 10): onnxruntime-node 1.30 runs both.
 * Raising the opset moves ReduceMean's `axes` from attribute to input (changed in opset 18).
 */
import { makeTensor, pack4Bit, byteLength, type Model, type Node, type Tensor } from '@distillery/onnx';
import { signedCodes, type QuantizedWeight } from '../kit/quantizer';

export const INT4_OPSET = 21;

/** Opset 18 turned the axes attribute of the Reduce* ops into an optional input. */
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

export interface Int4Rewrite {
  model: Model;
  layers: number;
  weightBytesBefore: number;
  weightBytesAfter: number;
}

/** `quantized` maps a float initializer name (a MatMul B input) to its integers and scales. */
export function withInt4Weights(model: Model, quantized: Map<string, QuantizedWeight>): Int4Rewrite {
  const g = model.graph;
  const byName = new Map(g.initializers.map((t) => [t.name, t]));
  const added: Tensor[] = [];
  const dequant = new Map<string, Node>();
  let before = 0;
  let after = 0;
  for (const [name, x] of quantized) {
    const t = byName.get(name);
    if (!t || t.dims.length !== 2) throw new Error(`withInt4Weights: no 2-D initializer ${name}`);
    const [rows, cols] = t.dims as [number, number];
    const qName = `${name}_quantized`;
    const sName = `${name}_scale`;
    added.push(makeTensor(qName, 'int4', [rows, cols], pack4Bit(signedCodes(x), true)));
    const perChannel = x.groupSize === rows;
    added.push(makeTensor(sName, 'float32', perChannel ? [cols] : [x.scales.length / cols, cols], x.scales));
    dequant.set(name, {
      name: `/weights/${name}/DequantizeLinear`,
      opType: 'DequantizeLinear',
      domain: '',
      inputs: [qName, sName],
      outputs: [`${name}_dequantized`],
      attributes: perChannel
        ? { axis: { type: 'int', value: 1 } }
        : { axis: { type: 'int', value: 0 }, block_size: { type: 'int', value: x.groupSize } },
    });
    before += t.raw.byteLength;
    after += byteLength('int4', [rows, cols]) + byteLength('float32', [x.scales.length]);
  }
  const nodes: Node[] = [];
  const placed = new Set<string>();
  for (const n of g.nodes) {
    const inputs = n.inputs.map((i) => {
      const dq = dequant.get(i);
      if (!dq) return i;
      if (!placed.has(i)) {
        nodes.push(dq);
        placed.add(i);
      }
      return dq.outputs[0]!;
    });
    nodes.push(inputs.some((v, j) => v !== n.inputs[j]) ? { ...n, inputs } : n);
  }
  const initializers = [...g.initializers.filter((t) => !quantized.has(t.name)), ...added];
  const upgraded = withAxesInputs(nodes, initializers);
  const opsetImports = [{ domain: '', version: INT4_OPSET }, ...model.opsetImports.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')];
  return {
    model: { ...model, irVersion: Math.max(model.irVersion, 10), opsetImports, graph: { ...g, nodes: upgraded, initializers } },
    layers: quantized.size,
    weightBytesBefore: before,
    weightBytesAfter: after,
  };
}
