/**
 * The frozen base a LoRA run trains against: the decoder's weights as float32 values equal
 * to what the quantized model computes with. Symmetric DequantizeLinear layers are read by
 * decoderWeightsFromModel; MatMulNBits layers are decoded here (readMatMulNBits, then
 * dequantizeWeight) into a float view of the graph that the same reader understands.
 * `quantized` names the weights that must keep their quantized storage in the output.
 */
import type { Model, Tensor } from '@distillery/onnx';
import { makeTensor } from '@distillery/onnx';
import { decoderWeightsFromModel, weightNameOfMatMul, type DecoderFromModel } from '@distillery/nn';
import { readMatMulNBits } from '../kit/formats/matmulnbits';
import { dequantizeWeight } from '../kit/quantizer';

export interface LoraBase extends Pick<DecoderFromModel, 'config' | 'weights'> {
  /** Weights stored as integers (DequantizeLinear or MatMulNBits) in the input model. */
  quantized: Set<string>;
}

/** The model with each MatMulNBits that carries a decoder weight's node name turned into a float MatMul reading that weight. */
export function withMatMulNBitsDecoded(model: Model): { model: Model; decoded: string[] } {
  const byName = new Map<string, Tensor>(model.graph.initializers.map((t) => [t.name, t]));
  const initializers = [...model.graph.initializers];
  const decoded: string[] = [];
  const nodes = model.graph.nodes.map((n) => {
    if (n.opType !== 'MatMulNBits') return n;
    const weight = weightNameOfMatMul(n.name);
    if (!weight || byName.has(weight)) return n;
    const qw = readMatMulNBits(n, byName);
    initializers.push(makeTensor(weight, 'float32', [qw.rows, qw.cols], dequantizeWeight(qw)));
    decoded.push(weight);
    return { name: n.name, opType: 'MatMul', domain: '', inputs: [n.inputs[0]!, weight], outputs: n.outputs, attributes: {} };
  });
  return { model: { ...model, graph: { ...model.graph, nodes, initializers } }, decoded };
}

export function loraBase(model: Model, technique: string): LoraBase {
  const view = withMatMulNBitsDecoded(model);
  let read: DecoderFromModel;
  try {
    read = decoderWeightsFromModel(view.model);
  } catch (e) {
    const packed = model.graph.nodes.find((n) => n.name.includes('/unpack/'));
    const hint = packed ? ` (bit-packed weights, e.g. at "${packed.name}", are not read: quantize with format "matmulnbits" or "dequantize-linear" before ${technique})` : '';
    throw new Error(`${technique} reads float, symmetric DequantizeLinear and MatMulNBits weights: ${(e as Error).message}${hint}`);
  }
  const { config, weights, quantized } = read;
  return { config, weights, quantized: new Set([...quantized.keys(), ...view.decoded]) };
}
