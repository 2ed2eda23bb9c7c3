/**
 * DequantizeLinear + MatMul output: the codes are stored as integers and DequantizeLinear
 * rebuilds W = s (q - z) in the layer's compute dtype in front of the unchanged MatMuls.
 * Containers: 2-4 bit codes in int4/uint4 (opset 21, two per byte), 5-8 bit in int8/uint8;
 * so 3-bit codes are stored and run as 4-bit ones (no stock ONNX type packs 3 bits).
 * Symmetric grids store signed codes without a zero point; asymmetric ones unsigned codes
 * and a zero point per scale. One scale per output channel is axis 1 (opset 13); groups
 * along the input rows are blocked quantization on axis 0 with block_size (opset 21).
 * Float16 scales (layers computing in float16) need opset 19.
 */
import { pack4Bit } from '@distillery/onnx';
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import { QuantSpecError, signedCodes, type QuantizedWeight } from '../quantizer';

export function writeDequantizeLinear(edit: LinearEdit, layer: LinearWeight, qw: QuantizedWeight): void {
  if (qw.floatZeros) throw new QuantSpecError('format', `${layer.matmuls[0]!.name}: format "dequantize-linear" stores integer zero points only; real-valued zero points (HQQ) need format "matmulnbits"`);
  const { rows, cols } = qw;
  const four = qw.bits <= 4;
  const perChannel = qw.groupSize === rows;
  const base = layer.weight.name;
  const codes = qw.symmetric ? signedCodes(qw) : qw.codes;
  const dtype = qw.symmetric ? (four ? 'int4' : 'int8') : four ? 'uint4' : 'uint8';
  const q = edit.tensor(`${base}_quantized`, dtype, [rows, cols], four ? pack4Bit(codes, qw.symmetric) : codes);
  const scaleDims = perChannel ? [cols] : [qw.scales.length / cols, cols];
  const sName = edit.floatTensor(`${base}_scale`, layer.computeDtype, scaleDims, qw.scales);
  const inputs = [q, sName];
  if (!qw.symmetric) inputs.push(edit.tensor(`${base}_zero_point`, four ? 'uint4' : 'uint8', scaleDims, four ? pack4Bit(qw.zeros, false) : qw.zeros));
  const out = edit.name(`${base}_dequantized`);
  edit.before(layer, [
    edit.node('DequantizeLinear', `${layer.matmuls[0]!.name}/DequantizeLinear`, inputs, [out], perChannel
      ? { axis: { type: 'int', value: 1 } }
      : { axis: { type: 'int', value: 0 }, block_size: { type: 'int', value: qw.groupSize } }),
  ]);
  edit.rewireB(layer, out);
  // Float16 scales need DequantizeLinear-19; float32 per-channel scales run from opset 13.
  edit.requireOpset('', four || !perChannel ? 21 : layer.computeDtype === 'float16' ? 19 : 13);
}
