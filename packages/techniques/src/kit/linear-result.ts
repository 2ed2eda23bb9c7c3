/**
 * What the weight-rewrite driver hands a method and what a method hands back.
 *
 * A method sees one `LinearTarget` at a time: the layer's names, block and role, its
 * weight W [in, out] as float32 values whatever the stored dtype, and the dtype the layer
 * computes in. It returns one `LinearResult`, or null to leave the layer as it is:
 *  - `dense`: new float weights (pruned, fine-tuned, or a storage dtype: fp16/bf16);
 *  - `quantized`: a `QuantizedWeight` from the quantizer library, written in the driver's
 *    output format (DequantizeLinear + MatMul, MatMulNBits, dynamic int8 MatMulInteger, or
 *    codes bit-packed at their true width and unpacked by stock ops);
 *  - `codebook`: shared values plus one index per weight, expanded with Gather (palettization);
 *  - `factors`: W ~ left [in, rank] x right [rank, out], two MatMuls (low-rank);
 *  - `hashed`: W[i, j] = table[hash(i, j)], the hash recomputed in the graph (HashedNets).
 */
import type { LinearRole } from '@distillery/onnx';
import type { QuantizedWeight } from './quantizer';

export interface LinearTarget {
  /** The layer's name: its first MatMul's node name (`/model/layers.0/mlp/up_proj/MatMul`). */
  name: string;
  weightName: string;
  block: number | null;
  role: LinearRole;
  inFeatures: number;
  outFeatures: number;
  storedDtype: 'float32' | 'float16' | 'bfloat16';
  computeDtype: 'float32' | 'float16';
  /** Row-major [inFeatures, outFeatures]; a fresh copy the method may modify. */
  values: Float32Array;
  /** The activation input (A) of each MatMul reading this weight, for calibration capture. */
  activationInputs: string[];
}

export type StorageDtype = 'float32' | 'float16' | 'bfloat16';

export type LinearResult =
  | { kind: 'dense'; values: Float32Array; dtype?: StorageDtype }
  | { kind: 'quantized'; weight: QuantizedWeight }
  | { kind: 'codebook'; codebook: Float32Array; indices: Uint8Array | Uint16Array; dtype?: StorageDtype; groupColumns?: number }
  | { kind: 'factors'; left: Float32Array; right: Float32Array; rank: number; dtype?: StorageDtype }
  | { kind: 'hashed'; table: Float32Array; seed: number; dtype?: StorageDtype };

/** How `quantized` results are written. */
export const QUANTIZED_FORMATS = ['dequantize-linear', 'matmulnbits', 'matmul-integer', 'bitpacked'] as const;
export type QuantizedFormat = (typeof QUANTIZED_FORMATS)[number];
