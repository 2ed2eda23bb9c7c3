/**
 * A teacher cache of top-k targets: per token, the k most likely tokens of the teacher's
 * temperature-softened distribution p = softmax(z / T) as (log p, index) pairs, kept on
 * disk one file per batch so the teacher runs once per batch and its session can be
 * released before training (sparse KD targets as in Shum et al. 2024, "FIRST", and the
 * usual top-k logit caching of offline distillation).
 *
 * Approximation: the rebuilt distribution keeps the k cached probabilities exactly and
 * spreads the remaining mass 1 - sum(top-k) uniformly over the other V - k tokens (floored
 * at 1e-12 per token so its log stays finite). With k = V nothing is approximated.
 * The rebuilt "logits" are T * log p, whose softmax at temperature T is that distribution.
 */
import { mkdir, readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TopK {
  rows: number;
  k: number;
  /** log p of the kept tokens, [rows * k], most likely first. */
  logProbs: Float32Array;
  /** Token ids, [rows * k]. */
  indices: Int32Array;
}

/** Min-heap sift-down over the first n entries of (vals, idx). */
function siftDown(vals: Float64Array, idx: Int32Array, n: number, i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < n && vals[l]! < vals[m]!) m = l;
    if (r < n && vals[r]! < vals[m]!) m = r;
    if (m === i) return;
    [vals[i], vals[m]] = [vals[m]!, vals[i]!];
    [idx[i], idx[m]] = [idx[m]!, idx[i]!];
    i = m;
  }
}

/** Top-k of softmax(z / T) per row of logits [rows, vocab], computed in float64. */
export function topKFromLogits(logits: Float32Array, vocab: number, k: number, temperature: number): TopK {
  if (!Number.isInteger(k) || k < 1 || k > vocab) throw new Error(`topK must be an integer in [1, ${vocab}], got ${k}`);
  const rows = logits.length / vocab;
  const logProbs = new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  const vals = new Float64Array(k);
  const idx = new Int32Array(k);
  for (let r = 0; r < rows; r++) {
    const off = r * vocab;
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) max = Math.max(max, logits[off + j]! / temperature);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(logits[off + j]! / temperature - max);
    const lse = max + Math.log(sum);
    // A size-k min-heap of the best so far: O(V log k) per row.
    let n = 0;
    for (let j = 0; j < vocab; j++) {
      const v = logits[off + j]! / temperature;
      if (n < k) {
        vals[n] = v;
        idx[n] = j;
        n++;
        if (n === k) for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(vals, idx, k, i);
      } else if (v > vals[0]!) {
        vals[0] = v;
        idx[0] = j;
        siftDown(vals, idx, k, 0);
      }
    }
    // Pop ascending, write descending.
    for (let m = k; m > 0; m--) {
      logProbs[r * k + m - 1] = vals[0]! - lse;
      indices[r * k + m - 1] = idx[0]!;
      vals[0] = vals[m - 1]!;
      idx[0] = idx[m - 1]!;
      siftDown(vals, idx, m - 1, 0);
    }
  }
  return { rows, k, logProbs, indices };
}

/** Teacher "logits" [rows * vocab] whose softmax at `temperature` is the rebuilt distribution. */
export function logitsFromTopK(top: TopK, vocab: number, temperature: number): Float32Array {
  const { rows, k } = top;
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    let kept = 0;
    for (let m = 0; m < k; m++) kept += Math.exp(top.logProbs[r * k + m]!);
    const rest = vocab > k ? Math.log(Math.max((1 - kept) / (vocab - k), 1e-12)) : 0;
    out.fill(temperature * rest, r * vocab, (r + 1) * vocab);
    for (let m = 0; m < k; m++) out[r * vocab + top.indices[r * k + m]!] = temperature * top.logProbs[r * k + m]!;
  }
  return out;
}

/** One file per batch: header [rows, k] as int32, then log-probs (float32), then indices (int32). */
export class TopKCache {
  private constructor(readonly dir: string, private readonly owned: boolean) {}

  /** A fresh folder under `parent` (default os.tmpdir()), removed by dispose(). */
  static async create(parent?: string): Promise<TopKCache> {
    const base = parent ?? os.tmpdir();
    await mkdir(base, { recursive: true });
    return new TopKCache(await mkdtemp(path.join(base, 'distill-topk-')), true);
  }

  private file(index: number): string {
    return path.join(this.dir, `batch-${String(index).padStart(6, '0')}.bin`);
  }

  async write(index: number, top: TopK): Promise<void> {
    const n = top.rows * top.k;
    const buf = new Uint8Array(8 + 8 * n);
    new Int32Array(buf.buffer, 0, 2).set([top.rows, top.k]);
    new Float32Array(buf.buffer, 8, n).set(top.logProbs);
    new Int32Array(buf.buffer, 8 + 4 * n, n).set(top.indices);
    await writeFile(this.file(index), buf);
  }

  async read(index: number): Promise<TopK> {
    const bytes = await readFile(this.file(index));
    // Copy into a fresh, aligned buffer before viewing as 32-bit values.
    const buf = new Uint8Array(bytes).buffer;
    const [rows, k] = new Int32Array(buf, 0, 2);
    const n = rows! * k!;
    if (buf.byteLength !== 8 + 8 * n) throw new Error(`teacher cache file for batch ${index} is truncated`);
    return { rows: rows!, k: k!, logProbs: new Float32Array(buf, 8, n), indices: new Int32Array(buf, 8 + 4 * n, n) };
  }

  async dispose(): Promise<void> {
    if (this.owned) await rm(this.dir, { recursive: true, force: true });
  }
}
