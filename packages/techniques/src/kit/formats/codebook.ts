/**
 * Codebook output (weight sharing / palettization): W[i] = codebook[index[i]], expanded in
 * the graph by Gather over indices stored as uint8 (up to 256 entries) or uint16, cast to
 * int32 because Gather takes only int32/int64 indices. Per-group codebooks are one flat
 * codebook with indices offset per group.
 */
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import type { StorageDtype } from '../linear-result';

const INT32 = 6;

export function writeCodebook(edit: LinearEdit, layer: LinearWeight, codebook: Float32Array, indices: Uint8Array | Uint16Array, dtype: StorageDtype): void {
  const { inFeatures: k, outFeatures: n } = layer;
  const name = layer.matmuls[0]!.name;
  if (indices.length !== k * n) throw new Error(`${name}: codebook output needs ${k * n} indices, got ${indices.length}`);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= codebook.length) throw new Error(`${name}: index ${i} is ${indices[i]}, past the ${codebook.length}-entry codebook`);
  }
  const table = edit.floatWeight(layer, `${layer.weight.name}_codebook`, [codebook.length], codebook, dtype);
  const idx = edit.tensor(`${layer.weight.name}_indices`, indices instanceof Uint8Array ? 'uint8' : 'uint16', [k, n], indices);
  const idx32 = edit.name(`${idx}_int32`);
  const w = edit.name(`${layer.weight.name}_expanded`);
  edit.before(layer, [
    edit.node('Cast', `/weights/${idx}/Cast`, [idx], [idx32], { to: { type: 'int', value: INT32 } }),
    edit.node('Gather', `/weights/${layer.weight.name}/Gather`, [table, idx32], [w], { axis: { type: 'int', value: 0 } }),
  ]);
  edit.rewireB(layer, w);
}
