/**
 * Codebook output (weight sharing / palettization): W[i] = codebook[index[i]], expanded in
 * the graph by Gather over indices stored packed as uint4 when a codebook has at most 16
 * entries (two per byte; ONNX uint4 needs opset 21), else uint8 (up to 256) or uint16, cast
 * to int32 because Gather takes only int32/int64 indices. Per-group codebooks: either one
 * flat codebook with globally offset indices, or (`groupColumns`) a [groups, entries]
 * codebook for groups of output columns with local indices, offset in the graph by
 * floor(column / groupColumns) * entries computed from scalars, so the stored indices keep
 * their narrow width and nothing per column is stored.
 */
import { pack4Bit } from '@distillery/onnx';
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import type { StorageDtype } from '../linear-result';

const INT32 = 6;

export function writeCodebook(
  edit: LinearEdit,
  layer: LinearWeight,
  codebook: Float32Array,
  indices: Uint8Array | Uint16Array,
  dtype: StorageDtype,
  groupColumns?: number,
): void {
  const { inFeatures: k, outFeatures: n } = layer;
  const name = layer.matmuls[0]!.name;
  if (indices.length !== k * n) throw new Error(`${name}: codebook output needs ${k * n} indices, got ${indices.length}`);
  const groups = groupColumns ? Math.ceil(n / groupColumns) : 1;
  const entries = codebook.length / groups;
  if (!Number.isInteger(entries)) throw new Error(`${name}: a ${codebook.length}-entry codebook does not split into ${groups} groups of output columns`);
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! >= entries) throw new Error(`${name}: index ${i} is ${indices[i]}, past the ${entries}-entry codebook`);
  }
  const table = edit.floatWeight(layer, `${layer.weight.name}_codebook`, [codebook.length], codebook, dtype);
  let idx: string;
  if (entries <= 16) {
    idx = edit.tensor(`${layer.weight.name}_indices`, 'uint4', [k, n], pack4Bit(indices, false));
    edit.requireOpset('', 21);
  } else {
    idx = edit.tensor(`${layer.weight.name}_indices`, indices instanceof Uint8Array ? 'uint8' : 'uint16', [k, n], indices);
  }
  const idx32 = edit.name(`${idx}_int32`);
  const w = edit.name(`${layer.weight.name}_expanded`);
  const nodes = [edit.node('Cast', `/weights/${idx}/Cast`, [idx], [idx32], { to: { type: 'int', value: INT32 } })];
  let gatherIdx = idx32;
  if (groups > 1) {
    // Offset of column c = floor(c / groupColumns) * entries, computed from scalars so nothing per column is stored.
    const scalar = (base: string, v: number) => edit.tensor(`${layer.weight.name}_${base}`, 'int32', [], Int32Array.of(v));
    const cols = edit.name(`${idx}_columns`);
    const group = edit.name(`${idx}_group`);
    const offsets = edit.name(`${idx}_offsets`);
    gatherIdx = edit.name(`${idx}_global`);
    nodes.push(
      edit.node('Range', `/weights/${idx}/Range`, [scalar('zero', 0), scalar('columns', n), scalar('one', 1)], [cols]),
      edit.node('Div', `/weights/${idx}/Div`, [cols, scalar('group_columns', groupColumns!)], [group]),
      edit.node('Mul', `/weights/${idx}/Mul`, [group, scalar('entries', entries)], [offsets]),
      edit.node('Add', `/weights/${idx}/Add`, [idx32, offsets], [gatherIdx]),
    );
  }
  nodes.push(edit.node('Gather', `/weights/${layer.weight.name}/Gather`, [table, gatherIdx], [w], { axis: { type: 'int', value: 0 } }));
  edit.before(layer, nodes);
  edit.rewireB(layer, w);
}
