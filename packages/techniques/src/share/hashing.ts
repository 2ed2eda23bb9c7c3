/**
 * HashedNets (Chen et al. 2015, "Compressing Neural Networks with the Hashing Trick",
 * sec. 4): every weight W[i, j] is one of K shared values, chosen by a hash of its position,
 * with a hashed sign xi(i, j) in {-1, +1} (sec. 4.3) so collisions cancel instead of
 * accumulating. Nothing but the K values is stored: the hash is recomputed at load. Our hash
 * is one multiply-add modulo a prime (a Carter-Wegman universal family),
 * code(i, j) = ((i * A + j * B + seed) mod P) mod 2K, with bucket = code mod K and the sign
 * negative when code >= K, so the model reads W = Gather([v, -v], code). Compressing a
 * trained layer, the bucket values are the least-squares fit: v_h = mean of xi * w over bucket h.
 */

import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { rewriteLinear } from '../kit/rewrite-linear';
import { linearSelectionParams } from '../kit/select-linear';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';

export const HASH_PRIME = 2147483629; // largest prime below 2^31; keeps i*A + j*B inside int64 for any real layer
export const HASH_A = 1000003;
export const HASH_B = 7919;

/** code(i, j) in [0, 2K): which table entry of [v, -v] weight (i, j) reads. */
export function hashCode(i: number, j: number, k: number, seed: number): number {
  // BigInt-free: i*A < 2^53 and j*B < 2^53 for layers under a billion rows/columns; the sum is reduced before it grows.
  const h = (((i * HASH_A) % HASH_PRIME) + ((j * HASH_B) % HASH_PRIME) + (seed % HASH_PRIME)) % HASH_PRIME;
  return h % (2 * k);
}

export interface HashedWeight {
  /** The K shared values. */
  values: Float32Array;
  /** The table the graph gathers from: [v, -v]. */
  table: Float32Array;
}

export function hashedWeight(w: Float32Array, rows: number, cols: number, k: number, seed: number, what = 'share.hashing'): HashedWeight {
  if (w.length !== rows * cols) throw new Error(`${what}: ${w.length} weights for [${rows}, ${cols}]`);
  if (!Number.isInteger(k) || k < 1) throw new Error(`${what}: buckets must be a positive integer, got ${k}`);
  if (k >= rows * cols) throw new Error(`${what}: ${k} buckets for ${rows * cols} weights stores no fewer values than the layer`);
  const sum = new Float64Array(k);
  const count = new Float64Array(k);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const code = hashCode(i, j, k, seed);
      const v = w[i * cols + j]!;
      if (!Number.isFinite(v)) throw new Error(`${what}: weight [${i}, ${j}] is ${v}`);
      const b = code % k;
      sum[b]! += code >= k ? -v : v;
      count[b]!++;
    }
  }
  const values = Float32Array.from(sum, (s, b) => (count[b]! > 0 ? s / count[b]! : 0));
  const table = new Float32Array(2 * k);
  table.set(values);
  for (let b = 0; b < k; b++) table[k + b] = -values[b]!;
  return { values, table };
}

/** The dense weight the hashed layer stands for. */
export function expandHashed(table: Float32Array, rows: number, cols: number, seed: number): Float32Array {
  const k = table.length / 2;
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = table[hashCode(i, j, k, seed)]!;
  return out;
}

export const hashingParams = z
  .object({
    ...linearSelectionParams,
    /** Shared values per layer as a share of its weights (the paper's compression factor is 1/ratio). */
    ratio: z.number().gt(0).lt(1).default(1 / 8),
    seed: z.number().int().min(0).max(2 ** 30).default(1),
    lmHead: z.boolean().default(false),
  })
  .strict();
export type HashingParams = z.output<typeof hashingParams>;

export async function shareHashing(model: Model, params: HashingParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'share.hashing';
  const { ratio, seed, ...selection } = params;
  const out = await rewriteLinear(model, {
    technique: what,
    selection,
    ctx,
    method: (t) => {
      const buckets = Math.max(1, Math.round(ratio * t.inFeatures * t.outFeatures));
      const h = hashedWeight(t.values, t.inFeatures, t.outFeatures, buckets, seed, `${what}: layer ${t.name}`);
      return { kind: 'hashed', table: h.table, seed };
    },
  });
  return { model: out.model, report: { ...out.report, ratio } };
}

export const hashingTechnique = defineTechnique({
  id: 'share.hashing',
  family: 'share',
  title: 'HashedNets weight sharing',
  description:
    'Each linear weight becomes one of K shared values chosen by a hash of its position, with a hashed sign; K = ratio x weights. ' +
    'Only the values are stored; the hash is recomputed in the graph at load. Bucket values are the least-squares fit to the trained weights.',
  params: hashingParams,
  apply: shareHashing,
});
