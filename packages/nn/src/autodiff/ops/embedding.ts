/**
 * Embedding lookup (Gather on axis 0). Its adjoint scatters each output row's gradient
 * back onto the row it was read from, adding where a token repeats; ScatterND with
 * reduction='add' does that in one kernel (measured far faster than ScatterElements or
 * OneHot @ g on this machine, see ARCHITECTURE.md).
 */
import type { Value } from '../tracer';
import { unsqueeze } from './shape-ops';

/** table [V, D], ids int64 [...] -> [..., D] */
export function embedding(table: Value, ids: Value): Value {
  const t = table.tracer;
  if (table.rank !== 2 || ids.kind !== 'int64') throw new Error('embedding takes a [V, D] table and int64 ids');
  const y = t.op('Gather', [table, ids], {}, { shape: [...ids.shape, table.shape[1]!] });
  t.record([table, ids], [y], ([g]) => {
    const zeros = t.zerosLike(table);
    const index = unsqueeze(ids, [-1]);
    return [t.op('ScatterND', [zeros, index, g!], { reduction: { type: 'string', value: 'add' } }, { shape: table.shape }), undefined];
  });
  return y;
}
