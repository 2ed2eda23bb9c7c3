/**
 * Bit-packed output for any width 2..8 (the only stock-ORT form that stores 3, 5, 6 and 7
 * bits at their true size): the codes, row-major and padded to whole groups, are packed
 * least significant bits first (pack-bits.ts) into a uint8 initializer [periods, bits],
 * one row per 8 codes (8 codes of b bits fill exactly b bytes). Stock ops rebuild
 * W = s (q - z) in front of the unchanged MatMuls:
 *
 *   Cast float32; window = bytes x M [bits, 8]     -> the 16-bit window of each code's 1-2 bytes
 *   q = floor(window / 2^shift) - 2^b floor(window / 2^(shift + b))
 *   Reshape [groups, groupSize, cols]; (q - z) * s; Reshape [rows, cols]
 *
 * Every input of that subgraph is an initializer, so ONNX Runtime folds it into a float
 * weight when the session is created (constant folding): the file holds b bits per weight
 * plus scales, the running session a dense float weight, decoded at float speed. Asymmetric
 * zero points are packed and unpacked the same way.
 */
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import { packBits } from '../pack-bits';
import type { QuantizedWeight } from '../quantizer';

const CODES_PER_PERIOD = 8;

/** Byte index (low and high) and bit shift of code j of a period of 8 b-bit codes. */
export function periodLayout(bits: number): { lo: number[]; hi: number[]; shift: number[] } {
  const lo: number[] = [];
  const hi: number[] = [];
  const shift: number[] = [];
  for (let j = 0; j < CODES_PER_PERIOD; j++) {
    const bit = j * bits;
    lo.push(bit >> 3);
    // A code inside one byte reads that byte twice; the high copy lands above the code and mod 2^b drops it.
    hi.push(Math.min(bits - 1, (bit + bits - 1) >> 3));
    shift.push(bit & 7);
  }
  return { lo, hi, shift };
}

/** Codes padded to a whole number of periods with `pad`, packed as [periods, bits] bytes. */
export function packPeriods(codes: ArrayLike<number>, bits: number, pad: number): { bytes: Uint8Array; periods: number } {
  const periods = Math.ceil(codes.length / CODES_PER_PERIOD);
  const padded = new Uint8Array(periods * CODES_PER_PERIOD).fill(pad);
  for (let i = 0; i < codes.length; i++) padded[i] = codes[i]!;
  return { bytes: packBits(padded, bits), periods };
}

/**
 * [bits, 8] float matrix whose product with a period's bytes is each code's 16-bit window
 * lo + 256 hi (hi counted only when the code straddles a byte boundary).
 */
export function periodMatrix(bits: number): Float32Array {
  const { lo, hi } = periodLayout(bits);
  const m = new Float32Array(bits * CODES_PER_PERIOD);
  for (let j = 0; j < CODES_PER_PERIOD; j++) {
    m[lo[j]! * CODES_PER_PERIOD + j] = 1;
    if (hi[j] !== lo[j]) m[hi[j]! * CODES_PER_PERIOD + j] = 256;
  }
  return m;
}

/**
 * Nodes turning a [periods, bits] uint8 initializer into `count` float32 codes of shape
 * `dims`, all exact in float32 (windows < 2^16): window = bytes x periodMatrix (one small
 * MatMul), code = floor(window / 2^shift) - 2^b floor(window / 2^(shift + b)). A MatMul
 * and elementwise float ops fold several times faster in ORT than Gather and integer Div/Mod.
 */
function unpackNodes(edit: LinearEdit, layer: LinearWeight, base: string, packed: string, periods: number, bits: number, count: number, dims: number[]): string {
  const { shift } = periodLayout(bits);
  const node = (op: string, inputs: string[], attrs: Parameters<LinearEdit['node']>[4] = {}): string => {
    const out = edit.name(`${base}_${op.toLowerCase()}`);
    edit.before(layer, [edit.node(op, `${layer.matmuls[0]!.name}/unpack/${op}`, inputs, [out], attrs)]);
    return out;
  };
  const f32 = (name: string, values: number[], d: number[] = [values.length]) => edit.constant(`bitpacked_${name}`, 'float32', d, values);
  const i64 = (name: string, values: number[]) => edit.constant(`bitpacked_${name}`, 'int64', [values.length], values);
  const bytes = node('Cast', [packed], { to: { type: 'int', value: 1 } });
  const window = node('MatMul', [bytes, f32(`window${bits}`, Array.from(periodMatrix(bits)), [bits, CODES_PER_PERIOD])]);
  const low = node('Floor', [node('Mul', [window, f32(`shift${bits}`, shift.map((v) => 2 ** -v))])]);
  const high = node('Floor', [node('Mul', [window, f32(`above${bits}`, shift.map((v) => 2 ** -(v + bits)))])]);
  const codes = node('Sub', [low, node('Mul', [high, f32(`modulus${bits}`, [2 ** bits], [])])]);
  let flat = node('Reshape', [codes, i64('flat', [periods * CODES_PER_PERIOD])]);
  if (count < periods * CODES_PER_PERIOD) flat = node('Slice', [flat, i64('start', [0]), i64('end', [count])]);
  return node('Reshape', [flat, i64('dims', dims)]);
}

export function writeBitPacked(edit: LinearEdit, layer: LinearWeight, qw: QuantizedWeight): void {
  const { rows, cols, bits, groupSize } = qw;
  const groups = qw.scales.length / cols;
  const paddedRows = groups * groupSize;
  const base = layer.weight.name;
  const mm = layer.matmuls[0]!.name;
  const dtypeCode = layer.computeDtype === 'float16' ? 10 : 1;
  // The last, shorter group is padded with its zero point so every group reshapes alike.
  const codes = new Uint8Array(paddedRows * cols);
  codes.set(qw.codes);
  for (let r = rows; r < paddedRows; r++) codes.set(qw.zeros.subarray((groups - 1) * cols, groups * cols), r * cols);
  const packed = packPeriods(codes, bits, 0);
  const q = edit.tensor(`${base}_packed${bits}`, 'uint8', [packed.periods, bits], packed.bytes);
  const gridDims = [groups, 1, cols];
  const ints = unpackNodes(edit, layer, `${base}_codes`, q, packed.periods, bits, paddedRows * cols, [groups, groupSize, cols]);
  const step = (op: string, inputs: string[], attrs: Parameters<LinearEdit['node']>[4] = {}): string => {
    const out = edit.name(`${base}_${op.toLowerCase()}`);
    edit.before(layer, [edit.node(op, `${mm}/dequantize/${op}`, inputs, [out], attrs)]);
    return out;
  };
  // Codes are unpacked in float32; a float16 layer casts them (exact: at most 8 bits).
  const toCompute = (v: string) => (dtypeCode === 1 ? v : step('Cast', [v], { to: { type: 'int', value: dtypeCode } }));
  let zero: string;
  if (qw.symmetric) {
    zero = edit.constant(`bitpacked_zero_point`, layer.computeDtype, [], [2 ** (bits - 1)]);
  } else {
    const zp = packPeriods(qw.zeros, bits, 0);
    const zq = edit.tensor(`${base}_zero_points_packed${bits}`, 'uint8', [zp.periods, bits], zp.bytes);
    zero = toCompute(unpackNodes(edit, layer, `${base}_zeros`, zq, zp.periods, bits, qw.zeros.length, gridDims));
  }
  const scale = edit.floatTensor(`${base}_scale`, layer.computeDtype, gridDims, qw.scales);
  const centred = step('Sub', [toCompute(ints), zero]);
  let w = step('Reshape', [step('Mul', [centred, scale]), edit.constant('bitpacked_dims', 'int64', [2], [paddedRows, cols])]);
  if (paddedRows > rows) {
    const i64 = (n: string, v: number) => edit.constant(`bitpacked_${n}`, 'int64', [1], [v]);
    w = step('Slice', [w, i64('row_start', 0), i64('row_end', rows), i64('row_axis', 0)]);
  }
  edit.rewireB(layer, w);
  // Reshape/Slice with tensor inputs, Mod on integers: opset 13.
  edit.requireOpset('', 13);
}
