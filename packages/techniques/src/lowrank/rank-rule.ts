/**
 * How many singular directions a factorized layer keeps: a fixed rank, the smallest rank
 * holding a share of the spectrum's energy (sum of sigma_i^2), or a share of the layer's
 * parameters. A rank-k factorization of W[in, out] stores k (in + out) values, so it only
 * pays below in*out / (in + out); above that the layer is left dense.
 */
export type RankRule = { kind: 'rank'; rank: number } | { kind: 'energy'; energy: number } | { kind: 'params'; ratio: number };

export interface RankChoice {
  rank: number;
  /** False when k (in + out) >= in * out: factorizing would not reduce parameters. */
  reduces: boolean;
}

export function chooseRank(s: ArrayLike<number>, rows: number, cols: number, rule: RankRule, what: string): RankChoice {
  const r = Math.min(rows, cols);
  let k: number;
  if (rule.kind === 'rank') {
    if (!Number.isInteger(rule.rank) || rule.rank < 1) throw new Error(`${what}: rank must be a positive integer, got ${rule.rank}`);
    if (rule.rank > r) throw new Error(`${what}: rank ${rule.rank} is above min(in, out) = ${r} of this [${rows}, ${cols}] weight`);
    k = rule.rank;
  } else if (rule.kind === 'energy') {
    if (!(rule.energy > 0 && rule.energy <= 1)) throw new Error(`${what}: energy must be in (0, 1], got ${rule.energy}`);
    let total = 0;
    for (let i = 0; i < r; i++) total += s[i]! ** 2;
    let acc = 0;
    k = r;
    for (let i = 0; i < r; i++) {
      acc += s[i]! ** 2;
      if (acc >= rule.energy * total * (1 - 1e-12)) {
        k = i + 1;
        break;
      }
    }
  } else {
    if (!(rule.ratio > 0 && rule.ratio < 1)) throw new Error(`${what}: params ratio must be in (0, 1), got ${rule.ratio}`);
    k = Math.floor((rule.ratio * rows * cols) / (rows + cols));
    if (k < 1) throw new Error(`${what}: a params ratio of ${rule.ratio} leaves less than rank 1 for this [${rows}, ${cols}] weight`);
    k = Math.min(k, r);
  }
  return { rank: k, reduces: k * (rows + cols) < rows * cols };
}
