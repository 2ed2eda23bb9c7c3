/**
 * Which weights a pruning score removes: the lowest-scoring ones under a sparsity target.
 * Scores are laid out like our MatMul weight W[in, out]; a mask is 1 = keep, 0 = pruned.
 *
 * Targets:
 *  - unstructured `sparsity` s: exactly round(s * size) weights are pruned, over the whole
 *    matrix (`scope: 'layer'`) or within each output column (`scope: 'output'`, as Wanda
 *    compares weights per output, Sun et al. 2023, sec. 3 "Comparison group").
 *  - N:M: at most N of every M consecutive weights along the input dimension of each output
 *    column are kept (the 2:4 layout of Mishra et al. 2021, "Accelerating Sparse Deep Neural
 *    Networks", sec. 2: groups run along the reduction dimension).
 * Ties are broken by position (lower index pruned first), so masks are deterministic.
 */

export type SparsityTarget = { kind: 'unstructured'; sparsity: number } | { kind: 'nm'; n: number; m: number };

/** Parse "2:4" style strings and sparsities into a target, refusing impossible ones with the reason. */
export function sparsityTarget(t: { sparsity?: number; pattern?: string }, what: string): SparsityTarget {
  if (t.pattern !== undefined) {
    const m = /^(\d+):(\d+)$/.exec(t.pattern);
    if (!m) throw new Error(`${what}: pattern must look like "2:4" (N:M), got "${t.pattern}"`);
    const n = Number(m[1]);
    const mm = Number(m[2]);
    if (mm < 2 || n < 1 || n >= mm) throw new Error(`${what}: pattern ${t.pattern} must keep 1 <= N < M of every M weights`);
    return { kind: 'nm', n, m: mm };
  }
  const s = t.sparsity;
  if (s === undefined) throw new Error(`${what}: give a sparsity in (0, 1) or an N:M pattern`);
  if (!(s > 0 && s < 1)) throw new Error(`${what}: sparsity must be in (0, 1); ${s} ${s >= 1 ? 'would remove every weight' : 'removes nothing'}`);
  return { kind: 'unstructured', sparsity: s };
}

export function targetLabel(t: SparsityTarget): string {
  return t.kind === 'nm' ? `${t.n}:${t.m}` : `${Math.round(t.sparsity * 1000) / 10}%`;
}

/**
 * Mask pruning exactly `k` of the entries `idx` (indices into `score`), lowest score first.
 * The k-th smallest score is found by sorting a copy (typed-array sort), then entries below
 * it are pruned and entries equal to it in index order until k are gone.
 */
function pruneLowest(score: Float32Array, idx: ArrayLike<number>, k: number, mask: Uint8Array): void {
  if (k <= 0) return;
  const vals = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) vals[i] = score[idx[i]!]!;
  vals.sort();
  const thresh = vals[k - 1]!;
  let below = 0;
  for (let i = 0; i < k; i++) if (vals[i]! < thresh) below++;
  let ties = k - below;
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i]!;
    const v = score[j]!;
    if (v < thresh) mask[j] = 0;
    else if (v === thresh && ties > 0) {
      mask[j] = 0;
      ties--;
    }
  }
}

function checkScores(score: Float32Array, rows: number, cols: number, what: string): void {
  if (score.length !== rows * cols) throw new Error(`${what}: ${score.length} scores for a [${rows}, ${cols}] weight`);
  for (let i = 0; i < score.length; i++) {
    if (Number.isNaN(score[i]!)) throw new Error(`${what}: score of weight [${Math.floor(i / cols)}, ${i % cols}] is NaN (NaN weights or activations)`);
  }
}

/** Unstructured mask over the whole layer or per output column. */
export function unstructuredMask(score: Float32Array, rows: number, cols: number, sparsity: number, scope: 'layer' | 'output', what = 'prune'): Uint8Array {
  checkScores(score, rows, cols, what);
  const mask = new Uint8Array(rows * cols).fill(1);
  if (scope === 'layer') {
    const all = new Uint32Array(rows * cols);
    for (let i = 0; i < all.length; i++) all[i] = i;
    pruneLowest(score, all, Math.round(sparsity * rows * cols), mask);
    return mask;
  }
  const col = new Uint32Array(rows);
  const k = Math.round(sparsity * rows);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) col[r] = r * cols + c;
    pruneLowest(score, col, k, mask);
  }
  return mask;
}

/** N:M mask: in each output column, the M - N lowest of every M consecutive input rows are pruned. */
export function nmMask(score: Float32Array, rows: number, cols: number, n: number, m: number, what = 'prune'): Uint8Array {
  checkScores(score, rows, cols, what);
  if (rows % m !== 0) throw new Error(`${what}: ${n}:${m} needs the input size to be a multiple of ${m}, but it is ${rows}`);
  const mask = new Uint8Array(rows * cols).fill(1);
  const group = new Uint32Array(m);
  for (let c = 0; c < cols; c++) {
    for (let r0 = 0; r0 < rows; r0 += m) {
      for (let i = 0; i < m; i++) group[i] = (r0 + i) * cols + c;
      pruneLowest(score, group, m - n, mask);
    }
  }
  return mask;
}

/** Mask for a target; unstructured targets use `scope`. */
export function maskFor(score: Float32Array, rows: number, cols: number, target: SparsityTarget, scope: 'layer' | 'output', what = 'prune'): Uint8Array {
  return target.kind === 'nm' ? nmMask(score, rows, cols, target.n, target.m, what) : unstructuredMask(score, rows, cols, target.sparsity, scope, what);
}

/** Global unstructured masks: one threshold over the scores of every layer together (magnitude, "global" in Blalock et al. 2020, sec. 2). */
export function globalMasks(scores: Float32Array[], sparsity: number, what = 'prune'): Uint8Array[] {
  const total = scores.reduce((s, a) => s + a.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const s of scores) {
    all.set(s, o);
    o += s.length;
  }
  checkScores(all, 1, total, what);
  const flat = new Uint8Array(total).fill(1);
  const idx = new Uint32Array(total);
  for (let i = 0; i < total; i++) idx[i] = i;
  pruneLowest(all, idx, Math.round(sparsity * total), flat);
  const out: Uint8Array[] = [];
  o = 0;
  for (const s of scores) {
    out.push(flat.slice(o, o + s.length));
    o += s.length;
  }
  return out;
}

/** Number of zeros in a mask. */
export function prunedCount(mask: Uint8Array): number {
  let z = 0;
  for (let i = 0; i < mask.length; i++) z += 1 - mask[i]!;
  return z;
}
