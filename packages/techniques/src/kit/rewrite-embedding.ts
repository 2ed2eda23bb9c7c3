/**
 * Storage of the token-embedding table, the one large weight that is not a MatMul: a
 * Gather(table [V, D], input_ids). `rewriteEmbeddings(model, 'float16' | 'int8')`:
 *  - float16: the table stored as float16, Gather on it, then Cast the gathered rows to
 *    float32 (the Cast runs on one row per token, not on the table, so memory stays half);
 *  - int8: one symmetric scale per token row (the quantizer library, 8 bits); Gather codes
 *    and scales [V, 1], Cast, Mul.
 * Only tables gathered by the `input_ids` graph input count; tables read by anything else
 * too (tied LM heads) are left alone. Returns the
 * new model and how many tables changed with their bytes before and after.
 */
import { dtypeCode, tensorToFloat32, type Model, type Node } from '@distillery/onnx';
import { LinearEdit } from './linear-edit';
import { quantizeWeight, signedCodes } from './quantizer';

export const EMBEDDING_STORAGE = ['keep', 'float16', 'bfloat16', 'int8'] as const;
export type EmbeddingStorage = (typeof EMBEDDING_STORAGE)[number];

export interface EmbeddingRewrite {
  model: Model;
  tables: number;
  bytesBefore: number;
  bytesAfter: number;
}

const FLOAT = dtypeCode('float32');

export function rewriteEmbeddings(model: Model, storage: EmbeddingStorage): EmbeddingRewrite {
  if (storage === 'keep') return { model, tables: 0, bytesBefore: 0, bytesAfter: 0 };
  const g = model.graph;
  const byName = new Map(g.initializers.map((t) => [t.name, t]));
  const readers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) readers.set(i, [...(readers.get(i) ?? []), n]);
  const edit = new LinearEdit(model);
  const dropped = new Set<string>();
  const droppedNodes = new Set<Node>();
  let before = 0;
  let after = 0;
  for (const gather of g.nodes) {
    if (gather.opType !== 'Gather' || gather.domain !== '') continue;
    const axis = gather.attributes.axis;
    if (axis && (axis.type !== 'int' || axis.value !== 0)) continue;
    // Token embeddings are gathered by input_ids; other tables (RoPE cos/sin by position_ids) are not embeddings.
    if (gather.inputs[1] !== 'input_ids') continue;
    let table = byName.get(gather.inputs[0]!);
    let cast: Node | undefined;
    if (!table) {
      // float16 table -> Cast(float32) -> Gather, as our fp16 decoders store it.
      cast = g.nodes.find((n) => n.opType === 'Cast' && n.outputs[0] === gather.inputs[0]);
      table = cast ? byName.get(cast.inputs[0]!) : undefined;
      if (!cast || (readers.get(cast.outputs[0]!) ?? []).length !== 1) continue;
    }
    if (!table || table.dims.length !== 2 || !['float32', 'float16'].includes(table.dtype)) continue;
    if ((readers.get(table.name) ?? []).length !== 1 || g.outputs.some((o) => o.name === table.name)) continue;
    const [v, d] = table.dims as [number, number];
    const values = tensorToFloat32(table);
    const ids = gather.inputs[1]!;
    const out = gather.outputs[0]!;
    const nodes: Node[] = [];
    if (storage !== 'int8') {
      const t16 = edit.floatTensor(`${table.name}_${storage}`, storage, [v, d], values);
      const rows = edit.name(`${out}_${storage}`);
      nodes.push(
        edit.node('Gather', `${gather.name}_${storage}`, [t16, ids], [rows], { axis: { type: 'int', value: 0 } }),
        edit.node('Cast', `${gather.name}/Cast`, [rows], [out], { to: { type: 'int', value: FLOAT } }),
      );
    } else {
      // Rows of the table are output channels of its transpose: per-channel scales of W^T are per-token scales.
      const t = new Float32Array(v * d);
      for (let r = 0; r < v; r++) for (let c = 0; c < d; c++) t[c * v + r] = values[r * d + c]!;
      const qw = quantizeWeight(t, d, v, { bits: 8, symmetric: true }, table.name);
      const qt = signedCodes(qw);
      const codes = new Int8Array(v * d);
      for (let r = 0; r < v; r++) for (let c = 0; c < d; c++) codes[r * d + c] = qt[c * v + r]!;
      const q = edit.tensor(`${table.name}_quantized`, 'int8', [v, d], codes);
      const s = edit.floatTensor(`${table.name}_row_scale`, 'float32', [v, 1], qw.scales);
      const [qRows, fRows, sRows] = ['_int8', '_float', '_scale'].map((x) => edit.name(`${out}${x}`)) as [string, string, string];
      nodes.push(
        edit.node('Gather', `${gather.name}_int8`, [q, ids], [qRows], { axis: { type: 'int', value: 0 } }),
        edit.node('Gather', `${gather.name}_scale`, [s, ids], [sRows], { axis: { type: 'int', value: 0 } }),
        edit.node('Cast', `${gather.name}/Cast`, [qRows], [fRows], { to: { type: 'int', value: FLOAT } }),
        edit.node('Mul', `${gather.name}/Mul`, [fRows, sRows], [out]),
      );
    }
    edit.replace(gather, nodes);
    before += table.raw.byteLength;
    after += edit.takeBytes();
    dropped.add(table.name);
    if (cast) droppedNodes.add(cast);
  }
  const graph = edit.graph;
  graph.nodes = graph.nodes.filter((n) => !droppedNodes.has(n));
  graph.initializers = graph.initializers.filter((t) => !dropped.has(t.name));
  return { model: { ...model, graph }, tables: dropped.size, bytesBefore: before, bytesAfter: after };
}
