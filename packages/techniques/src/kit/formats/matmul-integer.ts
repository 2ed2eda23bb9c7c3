/**
 * Dynamic int8 output, as onnxruntime's quantize_dynamic writes it: per MatMul,
 * DynamicQuantizeLinear(A) -> (uint8 a, scale_a, zero_a); MatMulInteger(a, W_int8, zero_a)
 * -> int32; Cast to float; Mul by scale_a * scale_w[N]. ORT fuses the chain into
 * DynamicQuantizeMatMul. Needs a 7- or 8-bit symmetric weight with one scale per output
 * channel, and float32 activations (DynamicQuantizeLinear has no float16 kernel). 7-bit
 * codes are quantize_dynamic's reduce_range: on CPUs without VNNI, ORT's uint8 x int8
 * kernel adds product pairs in int16 (vpmaddubsw), which saturates for 8-bit weights.
 */
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import { QuantSpecError, quantizeWeight, signedCodes, type QuantSpec, type QuantizedWeight } from '../quantizer';

const FLOAT = 1;

/**
 * The grid every technique writing this format quantizes its weights on: 7-bit symmetric
 * codes, one scale per output channel (quantize_dynamic's reduce_range, see above).
 */
export const MATMUL_INTEGER_WEIGHT_SPEC: Readonly<QuantSpec> = Object.freeze({ bits: 7, symmetric: true });

/** A [rows, cols] weight on MATMUL_INTEGER_WEIGHT_SPEC, ready for writeMatMulInteger. */
export function quantizeForMatMulInteger(values: Float32Array, rows: number, cols: number, layer: string): QuantizedWeight {
  return quantizeWeight(values, rows, cols, { ...MATMUL_INTEGER_WEIGHT_SPEC }, layer);
}

export function writeMatMulInteger(edit: LinearEdit, layer: LinearWeight, qw: QuantizedWeight): void {
  if (qw.floatZeros) throw new QuantSpecError('format', `${layer.matmuls[0]!.name}: format "matmul-integer" stores integer zero points only; real-valued zero points (HQQ) need format "matmulnbits"`);
  const name = layer.matmuls[0]!.name;
  if ((qw.bits !== 8 && qw.bits !== 7) || !qw.symmetric || qw.groupSize !== qw.rows) {
    throw new QuantSpecError('format', `${name}: format "matmul-integer" needs 7- or 8-bit symmetric weights with one scale per output channel, got ${qw.bits} bits, ${qw.symmetric ? 'symmetric' : 'asymmetric'}, group ${qw.groupSize === qw.rows ? 'per-channel' : qw.groupSize}`);
  }
  if (layer.computeDtype !== 'float32') throw new QuantSpecError('format', `${name}: format "matmul-integer" needs float32 activations; this layer computes in ${layer.computeDtype}`);
  const base = layer.weight.name;
  const w = edit.tensor(`${base}_quantized`, 'int8', [qw.rows, qw.cols], signedCodes(qw));
  const ws = edit.floatTensor(`${base}_scale`, 'float32', [qw.cols], qw.scales);
  for (const m of layer.matmuls) {
    const [aq, as, az, acc, accF, scale] = ['_quantized', '_scale', '_zero_point', '_int32', '_float', '_output_scale'].map((s) => edit.name(`${m.name}${s}`)) as [string, string, string, string, string, string];
    edit.replace(m, [
      edit.node('DynamicQuantizeLinear', `${m.name}/DynamicQuantizeLinear`, [m.inputs[0]!], [aq, as, az]),
      // The MatMulInteger keeps the MatMul's name so inspection still finds the layer by block and role.
      { name: m.name, opType: 'MatMulInteger', domain: '', inputs: [aq, w, az], outputs: [acc], attributes: {} },
      edit.node('Cast', `${m.name}/Cast`, [acc], [accF], { to: { type: 'int', value: FLOAT } }),
      edit.node('Mul', `${m.name}/Mul_scales`, [as, ws], [scale]),
      edit.node('Mul', `${m.name}/Mul`, [accF, scale], m.outputs),
    ]);
  }
  edit.requireOpset('', 11);
}
