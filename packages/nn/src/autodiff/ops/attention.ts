/**
 * Causal scaled dot-product attention (Vaswani et al. 2017, eq. 1) with grouped-query
 * heads (Ainslie et al. 2023, "GQA", sec. 2): query head h reads kv head
 * floor(h / (nHeads / nKvHeads)). The G query heads of one kv head are stacked along the
 * row axis ([B, Kv, G*T, hd]) so every product is a plain batched MatMul and K, V are
 * never copied per query head. Composed of differentiable ops, so the gradient is theirs.
 */
import type { Tracer, Value } from '../tracer';
import { mul } from './elementwise';
import { matmul } from './matmul';
import { reshape, transpose } from './shape-ops';
import { maskedSoftmax } from './softmax';

/** bool [group*seq, seq]: row r (query position r mod seq) may see keys 0..(r mod seq). */
export function groupedCausalMask(t: Tracer, seq: number, group: number): Value {
  const m = new Uint8Array(group * seq * seq);
  for (let r = 0; r < group * seq; r++) for (let k = 0; k <= r % seq; k++) m[r * seq + k] = 1;
  return t.constant(m, [group * seq, seq], 'bool');
}

/**
 * q [B, H, T, hd], k and v [B, Kv, T, hd] -> [B, H, T, hd]. `mask` from
 * groupedCausalMask (pass one to share it across layers).
 */
export function causalAttention(q: Value, k: Value, v: Value, opts: { mask?: Value } = {}): Value {
  const t = q.tracer;
  const [B, H, T, hd] = q.shape as [number | string, number, number, number];
  const Kv = k.shape[1] as number;
  if (typeof H !== 'number' || typeof T !== 'number' || typeof hd !== 'number' || typeof Kv !== 'number' || H % Kv !== 0) {
    throw new Error('causalAttention needs static heads, sequence and head dims with nHeads a multiple of nKvHeads');
  }
  const G = H / Kv;
  const mask = opts.mask ?? groupedCausalMask(t, T, G);
  // Scaling q (T x hd) is cheaper than scaling the scores (T x T).
  const qg = reshape(mul(q, 1 / Math.sqrt(hd)), [B, Kv, G * T, hd]);
  const scores = matmul(qg, transpose(k, [0, 1, 3, 2]));
  const p = maskedSoftmax(scores, mask);
  return reshape(matmul(p, v), [B, H, T, hd]);
}
