/** Low-rank output: x W becomes (x L) R with L [in, rank] and R [rank, out], two MatMuls in place of one. */
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import type { StorageDtype } from '../linear-result';

export function writeFactors(edit: LinearEdit, layer: LinearWeight, left: Float32Array, right: Float32Array, rank: number, dtype: StorageDtype): void {
  const { inFeatures: k, outFeatures: n } = layer;
  if (left.length !== k * rank || right.length !== rank * n) {
    throw new Error(`${layer.matmuls[0]!.name}: factors of rank ${rank} need ${k * rank} + ${rank * n} values, got ${left.length} + ${right.length}`);
  }
  const l = edit.floatWeight(layer, `${layer.weight.name}_left`, [k, rank], left, dtype);
  const r = edit.floatWeight(layer, `${layer.weight.name}_right`, [rank, n], right, dtype);
  for (const m of layer.matmuls) {
    const mid = edit.name(`${m.name}_low_rank`);
    // The second MatMul keeps the original node's name and output, so inspection and consumers are unchanged.
    edit.replace(m, [edit.node('MatMul', `${m.name}_left`, [m.inputs[0]!, l], [mid]), { ...m, inputs: [mid, r] }]);
  }
}
