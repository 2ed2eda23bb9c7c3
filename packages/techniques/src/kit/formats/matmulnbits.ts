/**
 * com.microsoft MatMulNBits output (onnxruntime/docs/ContribOperators.md#com.microsoft.MatMulNBits):
 * each MatMul becomes MatMulNBits(A, B, scales[, zero_points]) with the same name and
 * output. B is the transposed codes [N, k_blocks, block_size * bits / 8], packed least
 * significant bits first; scales are [N * k_blocks] in A's dtype; symmetric grids omit
 * zero points (the op's default is 2^(bits-1), our symmetric zero point); real-valued zero
 * points (HQQ) are stored unpacked in A's type, [N * k_blocks] like the scales (the spec's
 * zero_points of type T1). block_size must
 * be a power of two >= 16: a group size that is not, is refused; per-channel weights use
 * one block of the next power of two, padded with zero-point codes that meet no input.
 * ORT 1.30's CPU kernel runs 2, 4 and 8 bits; 3 is refused here, naming the parameter.
 *
 * accuracy_level is the minimum precision of A inside the kernel: 0/1 = fp32 (exact up to
 * float rounding), 4 = A quantized per block to int8 and int8 dot products (about 3x
 * faster at batch 1 on x86 with AVX2/AVX512-VNNI, at the cost of rounding A to 8 bits).
 */
import { MS_DOMAIN, tensorToFloat32, type Node, type Tensor } from '@distillery/onnx';
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import { packBits, unpackBits } from '../pack-bits';
import type { QuantizedWeight } from '../quantizer';
import { QuantSpecError } from '../quantizer';

export const MATMULNBITS_BITS = [2, 4, 8] as const;

function isPow2(x: number): boolean {
  return x >= 16 && (x & (x - 1)) === 0;
}

export function matmulNBitsBlockSize(qw: QuantizedWeight, layer: string): number {
  if (!(MATMULNBITS_BITS as readonly number[]).includes(qw.bits)) {
    throw new QuantSpecError('bits', `${layer}: format "matmulnbits" runs ${MATMULNBITS_BITS.join(', ')} bits in onnxruntime 1.30, not bits=${qw.bits} (use format "dequantize-linear" for ${qw.bits} bits)`);
  }
  if (isPow2(qw.groupSize)) return qw.groupSize;
  if (qw.groupSize === qw.rows) {
    let b = 16;
    while (b < qw.rows) b *= 2;
    return b;
  }
  throw new QuantSpecError('groupSize', `${layer}: format "matmulnbits" needs groupSize a power of two >= 16 (16, 32, 64, 128, ...), got ${qw.groupSize}`);
}

export function writeMatMulNBits(edit: LinearEdit, layer: LinearWeight, qw: QuantizedWeight, accuracyLevel: number): void {
  const name = layer.matmuls[0]!.name;
  const blockSize = matmulNBitsBlockSize(qw, name);
  const { rows: k, cols: n, bits } = qw;
  const kBlocks = Math.ceil(k / blockSize);
  const groups = qw.scales.length / n;
  // Per-channel: one scale per column fills the single block; group-wise: group g is block g.
  if (groups !== kBlocks) throw new Error(`${name}: ${groups} scale groups do not match ${kBlocks} blocks of ${blockSize}`);
  const kPadded = kBlocks * blockSize;
  const transposed = new Uint8Array(n * kPadded);
  for (let c = 0; c < n; c++) {
    const row = c * kPadded;
    for (let r = 0; r < k; r++) transposed[row + r] = qw.codes[r * n + c]!;
    // Padding rows meet no input element; give them the zero point so they dequantize to 0.
    for (let r = k; r < kPadded; r++) transposed[row + r] = qw.zeros[(kBlocks - 1) * n + c]!;
  }
  const blob = (blockSize * bits) / 8;
  const b = edit.tensor(`${layer.weight.name}_nbits`, 'uint8', [n, kBlocks, blob], packBits(transposed, bits));
  const scalesT = new Float32Array(n * kBlocks);
  for (let c = 0; c < n; c++) for (let g = 0; g < kBlocks; g++) scalesT[c * kBlocks + g] = qw.scales[g * n + c]!;
  const s = edit.floatTensor(`${layer.weight.name}_scales`, layer.computeDtype, [n * kBlocks], scalesT);
  const inputs = [b, s];
  if (qw.floatZeros) {
    const zT = new Float32Array(n * kBlocks);
    for (let c = 0; c < n; c++) for (let g = 0; g < kBlocks; g++) zT[c * kBlocks + g] = qw.floatZeros[g * n + c]!;
    inputs.push(edit.floatTensor(`${layer.weight.name}_zero_points`, layer.computeDtype, [n * kBlocks], zT));
  } else if (!qw.symmetric) {
    const zpBytes = Math.ceil((kBlocks * bits) / 8);
    const zp = new Uint8Array(n * zpBytes);
    for (let c = 0; c < n; c++) {
      const row = Uint8Array.from({ length: kBlocks }, (_, g) => qw.zeros[g * n + c]!);
      zp.set(packBits(row, bits), c * zpBytes);
    }
    inputs.push(edit.tensor(`${layer.weight.name}_zero_points`, 'uint8', [n * zpBytes], zp));
  }
  for (const m of layer.matmuls) {
    edit.replace(m, {
      name: m.name,
      opType: 'MatMulNBits',
      domain: MS_DOMAIN,
      inputs: [m.inputs[0]!, ...inputs],
      outputs: m.outputs,
      attributes: {
        K: { type: 'int', value: k },
        N: { type: 'int', value: n },
        bits: { type: 'int', value: bits },
        block_size: { type: 'int', value: blockSize },
        accuracy_level: { type: 'int', value: accuracyLevel },
      },
    });
  }
  edit.requireOpset(MS_DOMAIN, 1);
}

/**
 * The inverse of writeMatMulNBits: a MatMulNBits node's B, scales and zero points read back
 * as a QuantizedWeight [K, N] (codes transposed back, padding rows dropped), for readers
 * that need the weight the node computes with (dequantizeWeight gives it exactly).
 */
export function readMatMulNBits(node: Node, byName: ReadonlyMap<string, Tensor>): QuantizedWeight {
  const attr = (key: string, fallback?: number): number => {
    const a = node.attributes[key];
    if (a?.type === 'int') return a.value;
    if (fallback === undefined) throw new Error(`${node.name}: MatMulNBits has no ${key} attribute`);
    return fallback;
  };
  const k = attr('K');
  const n = attr('N');
  const bits = attr('bits', 4);
  const blockSize = attr('block_size');
  const tensor = (i: number, what: string): Tensor => {
    const t = byName.get(node.inputs[i] ?? '');
    if (!t) throw new Error(`${node.name}: MatMulNBits ${what} (input ${i}) is not an initializer`);
    return t;
  };
  const b = tensor(1, 'B');
  const kBlocks = Math.ceil(k / blockSize);
  const kPadded = kBlocks * blockSize;
  if (b.dtype !== 'uint8' || b.raw.byteLength !== (n * kPadded * bits) / 8) throw new Error(`${node.name}: MatMulNBits B is ${b.dtype} [${b.dims.join(', ')}], expected uint8 [${n}, ${kBlocks}, ${(blockSize * bits) / 8}]`);
  const transposed = unpackBits(new Uint8Array(b.raw), n * kPadded, bits);
  const scalesT = tensorToFloat32(tensor(2, 'scales'));
  if (scalesT.length !== n * kBlocks) throw new Error(`${node.name}: MatMulNBits has ${scalesT.length} scales, expected ${n * kBlocks}`);
  const zp = node.inputs[3] ? tensor(3, 'zero_points') : undefined;
  if (zp && zp.dtype !== 'uint8') throw new Error(`${node.name}: MatMulNBits zero points are ${zp.dtype}; only packed uint8 zero points are read`);
  const zpBytes = Math.ceil((kBlocks * bits) / 8);
  const codes = new Uint8Array(k * n);
  const scales = new Float32Array(kBlocks * n);
  const zeros = new Uint8Array(kBlocks * n).fill(2 ** (bits - 1));
  for (let c = 0; c < n; c++) {
    for (let r = 0; r < k; r++) codes[r * n + c] = transposed[c * kPadded + r]!;
    for (let g = 0; g < kBlocks; g++) scales[g * n + c] = scalesT[c * kBlocks + g]!;
    if (zp) {
      const z = unpackBits(new Uint8Array(zp.raw).subarray(c * zpBytes, (c + 1) * zpBytes), kBlocks, bits);
      for (let g = 0; g < kBlocks; g++) zeros[g * n + c] = z[g]!;
    }
  }
  return { rows: k, cols: n, bits, symmetric: !zp, groupSize: blockSize, codes, scales, zeros };
}
