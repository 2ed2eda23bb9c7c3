/**
 * Rotary position embedding (Su et al. 2021, "RoFormer", sec. 3.4.2) in the Hugging Face
 * Llama "rotate_half" layout: x' = x cos + rotate_half(x) sin, rotate_half([x1, x2]) =
 * [-x2, x1], angle(pos, j) = pos * theta^(-2 (j mod hd/2) / hd). Built from Slice, Neg,
 * Concat and Mul, so its gradient is theirs.
 */
import type { Value } from '../tracer';
import { add, mul, neg } from './elementwise';
import { concat, slice } from './shape-ops';

/** cos and sin tables [seqLen, headDim] (row-major) for positions 0..seqLen-1. */
export function rotaryTables(seqLen: number, headDim: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const cos = new Float64Array(seqLen * headDim);
  const sin = new Float64Array(seqLen * headDim);
  for (let p = 0; p < seqLen; p++) {
    for (let j = 0; j < headDim; j++) {
      const angle = p * Math.pow(theta, (-2 * (j % half)) / headDim);
      cos[p * headDim + j] = Math.cos(angle);
      sin[p * headDim + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

export function rotateHalf(x: Value): Value {
  const hd = x.shape[x.rank - 1];
  if (typeof hd !== 'number' || hd % 2 !== 0) throw new Error('rotateHalf needs an even, static last dimension');
  return concat([neg(slice(x, -1, hd / 2, hd)), slice(x, -1, 0, hd / 2)], -1);
}

/** x [..., seq, hd]; cos, sin broadcastable to x (e.g. [seq, hd]). */
export function rotary(x: Value, cos: Value, sin: Value): Value {
  return add(mul(x, cos), mul(rotateHalf(x), sin));
}
