/**
 * Hashed output (HashedNets, Chen et al. 2015): W[i, j] = table[code(i, j)] where
 * code(i, j) = ((i*A mod P) + (j*B mod P) + (seed mod P)) mod P mod 2K (share/hashing.ts) is
 * recomputed in the graph from Range over the row and column indices in int64, so only the
 * 2K-entry table [v, -v] and a few scalars are stored.
 */
import { HASH_A, HASH_B, HASH_PRIME } from '../../share/hashing';
import type { LinearWeight } from '../../linear-weights';
import type { LinearEdit } from '../linear-edit';
import type { StorageDtype } from '../linear-result';

export function writeHashed(edit: LinearEdit, layer: LinearWeight, table: Float32Array, seed: number, dtype: StorageDtype): void {
  const { inFeatures: k, outFeatures: n } = layer;
  const base = layer.weight.name;
  if (table.length < 2 || table.length % 2 !== 0) throw new Error(`${layer.matmuls[0]!.name}: a hashed weight needs a [v, -v] table of even length, got ${table.length}`);
  const t = edit.floatWeight(layer, `${base}_hash_table`, [table.length], table, dtype);
  const i64 = (name: string, dims: number[], v: number[]) => edit.tensor(`${base}_${name}`, 'int64', dims, BigInt64Array.from(v.map(BigInt)));
  const v = (name: string) => edit.name(`${base}_hash_${name}`);
  const [rows, rowsCol, rowTerm, rowMod, cols, colTerm, colMod, sum, withSeed, code, codeMod, w] = [
    'rows', 'rows_col', 'row_term', 'row_mod', 'cols', 'col_term', 'col_mod', 'sum', 'seeded', 'code', 'code_mod', 'expanded',
  ].map(v);
  const zero = i64('hash_zero', [], [0]);
  const one = i64('hash_one', [], [1]);
  const prime = i64('hash_prime', [], [HASH_PRIME]);
  const mod = { fmod: { type: 'int' as const, value: 0 } };
  edit.before(layer, [
    edit.node('Range', `/weights/${base}/hash/Range`, [zero, i64('hash_rows', [], [k]), one], [rows]),
    edit.node('Unsqueeze', `/weights/${base}/hash/Unsqueeze`, [rows, i64('hash_axis', [1], [1])], [rowsCol]),
    edit.node('Mul', `/weights/${base}/hash/Mul`, [rowsCol, i64('hash_a', [], [HASH_A])], [rowTerm]),
    edit.node('Mod', `/weights/${base}/hash/Mod`, [rowTerm, prime], [rowMod], mod),
    edit.node('Range', `/weights/${base}/hash/Range_1`, [zero, i64('hash_cols', [], [n]), one], [cols]),
    edit.node('Mul', `/weights/${base}/hash/Mul_1`, [cols, i64('hash_b', [], [HASH_B])], [colTerm]),
    edit.node('Mod', `/weights/${base}/hash/Mod_1`, [colTerm, prime], [colMod], mod),
    edit.node('Add', `/weights/${base}/hash/Add`, [rowMod, colMod], [sum]),
    edit.node('Add', `/weights/${base}/hash/Add_1`, [sum, i64('hash_seed', [], [seed % HASH_PRIME])], [withSeed]),
    edit.node('Mod', `/weights/${base}/hash/Mod_2`, [withSeed, prime], [code], mod),
    edit.node('Mod', `/weights/${base}/hash/Mod_3`, [code, i64('hash_buckets', [], [table.length])], [codeMod], mod),
    edit.node('Gather', `/weights/${base}/hash/Gather`, [t, codeMod], [w], { axis: { type: 'int', value: 0 } }),
  ]);
  edit.rewireB(layer, w);
}
