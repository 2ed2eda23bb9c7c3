/**
 * GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers", Algorithm 1): quantize a linear layer one input feature at a
 * time and spread each rounding error over the not-yet-quantized features through the
 * inverse Hessian H^-1 of the layer-wise objective ||XW - XŴ||², H = 2 X^T X.
 *
 * Our MatMul weight is W[in, out] (y = x W), so the paper's columns are our rows and each
 * step is a contiguous row. Implemented: dampening (λ = percDamp · mean diag H, §4 Step 3),
 * dead inputs (H_ii = 0: weight zeroed, as the reference code does), the Cholesky form of
 * H^-1 (Step 3), lazy batch updates over blocks of B rows (Step 2) as one ORT Gemm per
 * block, W[block] -= U[done, block]^T · Err[done], group-wise grids fitted to the
 * current (error-compensated) weights when a group's first row is reached, and optional
 * activation order (rows by decreasing H_ii; with groups, grids are fitted up front on the
 * original weights, "static groups", so every group stays a contiguous block of input
 * features that MatMulNBits can store; the permutation is undone in the result). With
 * `shrinks`, each grid is the shrunk min/max range with the least H_ii-weighted error
 * (kit/grid-fit.ts, the reference code's `mse` option) instead of the plain min/max range.
 */
import { gemm } from '@distillery/onnx';
import { inverseCholeskyUpper } from '../linalg/inverse-cholesky';
import { quantizeValue, resolveSpec, type QuantGrid, type QuantizedWeight, type QuantSpec } from '../kit/quantizer';
import { fitGroupGrid, type GroupGrid } from '../kit/grid-fit';

export interface GptqOptions {
  /** Bits, symmetric or not, and rows per grid (default: one grid per output channel). */
  spec: QuantSpec;
  /** Names the layer in errors. */
  layer?: string;
  /**
   * Inner lazy-batch block (rows) whose rows update each other in JS; only speed depends
   * on it. The paper uses one level of B = 128; here the JS share grows with the block,
   * so blocks of 16 sit inside outer blocks of 128 that ORT updates.
   */
  blockSize?: number;
  /** Rows per outer lazy batch, whose updates reach all later rows in one ORT product (default 128). */
  outerBlockSize?: number;
  /** λ as a fraction of the mean Hessian diagonal; the paper uses 0.01. */
  percDamp?: number;
  actOrder?: boolean;
  /** Shrink factors searched per group and column for the least Hessian-diagonal-weighted error (kit/grid-fit.ts); omitted = min/max grid. */
  shrinks?: readonly number[];
  /** Exponent of that error (default 2.4). */
  norm?: number;
  /** Weight the grid search's error by the Hessian diagonal of each row (default true). */
  weightRows?: boolean;
}

export interface GptqResult extends QuantizedWeight {
  /** The dequantized weights (q - zero) · scale in the original row order. */
  dequantized: Float32Array;
  /** Σ (w - ŵ)² / [H^-1]_qq / 2 over all weights: the objective change GPTQ tracked. */
  loss: number;
  /** Input features with H_ii = 0 (never active in calibration); their weights became 0. */
  deadInputs: number;
}

function validate(w: Float32Array, rows: number, cols: number, h: ArrayLike<number>, opts: GptqOptions) {
  const layer = opts.layer ?? 'weight';
  if (w.length !== rows * cols) throw new Error(`${layer}: gptq got ${w.length} weight values, expected ${rows}x${cols}`);
  if (h.length !== rows * rows) throw new Error(`${layer}: gptq got a Hessian of ${h.length} values, expected ${rows}x${rows}`);
  const grid = resolveSpec(opts.spec, rows, layer);
  let blockSize = opts.blockSize ?? 16;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`${layer}: gptq blockSize must be a positive integer, got ${blockSize}`);
  // A group must never straddle a block boundary part-way, or its grid would see rows
  // missing some of the current block's updates.
  const g = grid.groupSize;
  if (blockSize % g !== 0 && g % blockSize !== 0) blockSize = g;
  // Outer blocks hold whole groups, so a group is fitted only after every earlier row's update reached it.
  const outer = opts.outerBlockSize ?? 128;
  if (!Number.isInteger(outer) || outer < 1) throw new Error(`${layer}: gptq outerBlockSize must be a positive integer, got ${outer}`);
  let outerSize = Math.max(outer, blockSize);
  if (g < rows) outerSize = Math.ceil(outerSize / g) * g;
  const percDamp = opts.percDamp ?? 0.01;
  if (!(percDamp >= 0)) throw new Error(`${layer}: gptq percDamp must be >= 0, got ${percDamp}`);
  return { grid, blockSize, outerSize, percDamp, actOrder: opts.actOrder ?? false, layer };
}

/**
 * Row `row` of `wp` rounded on its group's grid: codes, dequantized values and the scaled
 * errors (w - ŵ) / d written at the same offset; returns the row's share of the loss.
 * Kept apart from the async driver so V8 optimizes the loop on monomorphic typed arrays.
 */
function quantizeRow(wp: Float32Array, err: Float32Array, codes: Uint8Array, deq: Float32Array, row: number, cols: number, grid: GroupGrid, qgrid: QuantGrid, d: number): number {
  const { scale, zero } = grid;
  let loss = 0;
  for (let c = 0; c < cols; c++) {
    const x = wp[row + c]!;
    const s = scale[c]!;
    const z = zero[c]!;
    const q = quantizeValue(x, s, z, qgrid);
    const dq = Math.fround((q - z) * s);
    codes[row + c] = q;
    deq[row + c] = dq;
    const r = (x - dq) / d;
    err[row + c] = r;
    loss += r * r;
  }
  return loss / 2;
}

/** Rows i+1 .. end-1 of `wp` take row i's error: W[k] -= U[i, k] · Err[i] (one contiguous loop per row). */
function subtractRowError(wp: Float32Array, err: Float32Array, u: Float32Array, rows: number, cols: number, i: number, end: number): void {
  const src = i * cols;
  for (let k = i + 1; k < end; k++) {
    const f = u[i * rows + k]!;
    if (f === 0) continue;
    const dst = k * cols;
    for (let c = 0; c < cols; c++) wp[dst + c]! -= f * err[src + c]!;
  }
}

export async function gptq(weight: Float32Array, rows: number, cols: number, hessian: ArrayLike<number>, opts: GptqOptions): Promise<GptqResult> {
  const { grid: qgrid, blockSize, outerSize, percDamp, actOrder, layer } = validate(weight, rows, cols, hessian, opts);
  const { groupSize, groups } = qgrid;
  const w = Float32Array.from(weight);
  const h = Float64Array.from(hessian);

  let deadInputs = 0;
  for (let i = 0; i < rows; i++) {
    if (h[i * rows + i] === 0) {
      h[i * rows + i] = 1;
      w.fill(0, i * cols, (i + 1) * cols);
      deadInputs++;
    }
  }

  const groupRows = (g: number) => Math.min(rows, (g + 1) * groupSize) - g * groupSize;
  const grids: (GroupGrid | undefined)[] = new Array(groups);
  const fitOpts = (diag: Float64Array, r0: number, n: number) => ({ shrinks: opts.shrinks, norm: opts.norm, rowWeights: opts.weightRows === false ? undefined : diag.subarray(r0, r0 + n) });
  if (actOrder) {
    const diag = Float64Array.from({ length: rows }, (_, i) => h[i * rows + i]!);
    for (let g = 0; g < groups; g++) grids[g] = fitGroupGrid(w.subarray(g * groupSize * cols), groupRows(g), cols, qgrid, fitOpts(diag, g * groupSize, groupRows(g)));
  }

  // perm[k] = original row processed k-th.
  const perm = Array.from({ length: rows }, (_, i) => i);
  if (actOrder) perm.sort((a, b) => h[b * rows + b]! - h[a * rows + a]! || a - b);
  // Without act-order the permutation is the identity: work on the copies made above.
  let wp = w;
  let hp = h;
  if (actOrder) {
    wp = new Float32Array(rows * cols);
    hp = new Float64Array(rows * rows);
    for (let i = 0; i < rows; i++) {
      wp.set(w.subarray(perm[i]! * cols, (perm[i]! + 1) * cols), i * cols);
      for (let j = 0; j < rows; j++) hp[i * rows + j] = h[perm[i]! * rows + perm[j]!]!;
    }
  }

  let meanDiag = 0;
  for (let i = 0; i < rows; i++) meanDiag += hp[i * rows + i]!;
  meanDiag /= rows;
  for (let i = 0; i < rows; i++) hp[i * rows + i]! += percDamp * meanDiag;
  const diagP = Float64Array.from({ length: rows }, (_, i) => hp[i * rows + i]!);
  const u = await inverseCholeskyUpper(hp, rows);

  const codesP = new Uint8Array(rows * cols);
  const deqP = new Float32Array(rows * cols);
  // Scaled errors (w - ŵ) / [U]_ii of every quantized row: the lazy batch's update factors.
  const err = new Float32Array(rows * cols);
  /** Rows [r0, r1) take the updates of the quantized rows [e0, e1): W[r0:r1] -= U[e0:e1, r0:r1]ᵀ Err[e0:e1], one ORT Gemm. */
  const propagate = async (e0: number, e1: number, r0: number, r1: number): Promise<void> => {
    if (r1 <= r0 || e1 <= e0) return;
    const n = r1 - r0;
    const k = e1 - e0;
    const ub = new Float32Array(k * n);
    for (let r = e0; r < e1; r++) ub.set(u.subarray(r * rows + r0, r * rows + r1), (r - e0) * n);
    const updated = await gemm(
      { data: ub, rows: k, cols: n },
      { data: err.subarray(e0 * cols, e1 * cols), rows: k, cols },
      { data: wp.subarray(r0 * cols, r1 * cols), rows: n, cols },
      { transA: true, alpha: -1, beta: 1 },
    );
    wp.set(updated.data, r0 * cols);
  };
  let loss = 0;
  // Two levels of lazy batches (Step 2): rows in blocks of `blockSize` take each other's
  // updates in JS; after each block, the rest of its outer block takes them in one product,
  // and after each outer block all later rows do, so ORT's products stay large.
  for (let o1 = 0; o1 < rows; o1 += outerSize) {
    const o2 = Math.min(o1 + outerSize, rows);
    for (let i1 = o1; i1 < o2; i1 += blockSize) {
      const i2 = Math.min(i1 + blockSize, o2);
      for (let i = i1; i < i2; i++) {
        if (!actOrder && i % groupSize === 0) {
          // The group's rows must hold every earlier row's update (validate() aligns the blocks so).
          const n = groupRows(i / groupSize);
          if (!(i === o1 || (i === i1 && i + n <= o2) || i + n <= i2)) throw new Error(`${layer}: gptq group at row ${i} straddles a block (block ${blockSize}, outer ${outerSize})`);
          grids[i / groupSize] = fitGroupGrid(wp.subarray(i * cols), n, cols, qgrid, fitOpts(diagP, i, n));
        }
        const grid = grids[Math.floor(perm[i]! / groupSize)]!;
        loss += quantizeRow(wp, err, codesP, deqP, i * cols, cols, grid, qgrid, u[i * rows + i]!);
        // Within the block, every later row takes its share of this row's error at once.
        subtractRowError(wp, err, u, rows, cols, i, i2);
      }
      await propagate(i1, i2, i2, o2);
    }
    await propagate(o1, o2, o2, rows);
  }

  const codes = new Uint8Array(rows * cols);
  const dequantized = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    codes.set(codesP.subarray(i * cols, (i + 1) * cols), perm[i]! * cols);
    dequantized.set(deqP.subarray(i * cols, (i + 1) * cols), perm[i]! * cols);
  }
  const scales = new Float32Array(groups * cols);
  const zeros = new Uint8Array(groups * cols);
  for (let g = 0; g < groups; g++) {
    scales.set(grids[g]!.scale, g * cols);
    zeros.set(grids[g]!.zero, g * cols);
  }
  return { rows, cols, bits: qgrid.bits, symmetric: qgrid.symmetric, groupSize, codes, scales, zeros, dequantized, loss, deadInputs };
}
