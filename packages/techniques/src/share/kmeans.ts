/**
 * Weight sharing by k-means (Han et al. 2016, "Deep Compression", sec. 3): the weights of a
 * layer, or of each group of output channels, are clustered into k = 2^b shared values by
 * Lloyd's algorithm on scalars; each weight is replaced by its centroid and stored as a b-bit
 * index into the codebook. Initialization is k-means++ (Arthur & Vassilvitskii 2007, sec. 2.2,
 * D^2 sampling, seeded) or linear over [min, max] (Deep Compression's best, sec. 3.1).
 */

export type KmeansInit = 'kmeans++' | 'linear';

export interface KmeansOptions {
  k: number;
  iterations: number;
  init: KmeansInit;
  seed: number;
}

export interface Codebook {
  /** Centroids, ascending. */
  centroids: Float32Array;
  /** Centroid index of each value. */
  indices: Uint8Array;
}

/** mulberry32: a small seeded generator, so clustering is reproducible. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function initialCentroids(x: Float32Array, opts: KmeansOptions): Float64Array {
  const { k } = opts;
  let lo = Infinity, hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (opts.init === 'linear' || lo === hi) return Float64Array.from({ length: k }, (_, i) => (k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (k - 1)));
  const rnd = random(opts.seed);
  const c = new Float64Array(k);
  c[0] = x[Math.floor(rnd() * x.length)]!;
  const d2 = Float64Array.from(x, (v) => (v - c[0]!) ** 2);
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < x.length; i++) total += d2[i]!;
    let pick = x.length - 1;
    if (total > 0) {
      let r = rnd() * total;
      for (let i = 0; i < x.length; i++) {
        r -= d2[i]!;
        if (r < 0) {
          pick = i;
          break;
        }
      }
    }
    c[j] = x[pick]!;
    for (let i = 0; i < x.length; i++) d2[i] = Math.min(d2[i]!, (x[i]! - c[j]!) ** 2);
  }
  return c;
}

/** Index of the nearest centroid in an ascending array (binary search on the midpoints). */
function nearest(c: Float64Array, v: number): number {
  let lo = 0, hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > (c[mid]! + c[mid + 1]!) / 2) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Lloyd's iterations on scalars; stops early when no assignment changes. */
export function kmeans1d(x: Float32Array, opts: KmeansOptions, what = 'share.kmeans'): Codebook {
  const { k } = opts;
  if (!Number.isInteger(k) || k < 2 || k > 256) throw new Error(`${what}: k must be an integer in 2..256, got ${k}`);
  if (x.length === 0) throw new Error(`${what}: no weights to cluster`);
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) throw new Error(`${what}: weight ${i} is ${x[i]}`);
  const c = initialCentroids(x, opts).sort();
  const idx = new Uint8Array(x.length);
  const sum = new Float64Array(k);
  const count = new Float64Array(k);
  for (let it = 0; it <= opts.iterations; it++) {
    let changed = 0;
    sum.fill(0);
    count.fill(0);
    for (let i = 0; i < x.length; i++) {
      const j = nearest(c, x[i]!);
      if (j !== idx[i] || it === 0) changed++;
      idx[i] = j;
      sum[j]! += x[i]!;
      count[j]!++;
    }
    if (it === opts.iterations || (it > 0 && changed === 0)) break;
    // An empty cluster keeps its centroid (it may win points back after others move).
    for (let j = 0; j < k; j++) if (count[j]! > 0) c[j] = sum[j]! / count[j]!;
    // Centroids stay sorted under Lloyd's update in 1-D; sort anyway against ties from empty clusters.
    const order = [...c.keys()].sort((a, b) => c[a]! - c[b]!);
    if (order.some((o, i) => o !== i)) {
      const sorted = Float64Array.from(order, (o) => c[o]!);
      c.set(sorted);
    }
  }
  return { centroids: Float32Array.from(c), indices: idx };
}

export interface GroupedCodebooks {
  /** [groups, k] row-major. */
  centroids: Float32Array;
  /** Index of each weight of W[in, out] into its group's codebook, row-major [in, out]. */
  indices: Uint8Array;
  /** Output columns per codebook (the last group may be smaller). */
  groupColumns: number;
  groups: number;
}

/** One codebook per group of `groupColumns` output columns of W[rows, cols] (cols for one per layer). */
export function groupedKmeans(w: Float32Array, rows: number, cols: number, groupColumns: number, opts: KmeansOptions, what = 'share.kmeans'): GroupedCodebooks {
  if (w.length !== rows * cols) throw new Error(`${what}: ${w.length} weights for [${rows}, ${cols}]`);
  if (!Number.isInteger(groupColumns) || groupColumns < 1) throw new Error(`${what}: groupColumns must be a positive integer, got ${groupColumns}`);
  const g = Math.min(groupColumns, cols);
  const groups = Math.ceil(cols / g);
  const centroids = new Float32Array(groups * opts.k);
  const indices = new Uint8Array(rows * cols);
  for (let q = 0; q < groups; q++) {
    const c0 = q * g;
    const c1 = Math.min(cols, c0 + g);
    const width = c1 - c0;
    const x = new Float32Array(rows * width);
    for (let r = 0; r < rows; r++) for (let c = c0; c < c1; c++) x[r * width + c - c0] = w[r * cols + c]!;
    const cb = kmeans1d(x, { ...opts, seed: opts.seed + q }, `${what} (columns ${c0}..${c1 - 1})`);
    centroids.set(cb.centroids, q * opts.k);
    for (let r = 0; r < rows; r++) for (let c = c0; c < c1; c++) indices[r * cols + c] = cb.indices[r * width + c - c0]!;
  }
  return { centroids, indices, groupColumns: g, groups };
}

/** The shared weights: W'[r, c] = centroids[group(c), indices[r, c]]. */
export function expandCodebooks(cb: GroupedCodebooks, rows: number, cols: number, k: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = cb.centroids[Math.floor(c / cb.groupColumns) * k + cb.indices[r * cols + c]!]!;
  return out;
}
