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
import { resolveSpec, type QuantGrid, type QuantizedWeight, type QuantSpec } from '../kit/quantizer';
import { fitGroupGrid, type GroupGrid } from '../kit/grid-fit';
import { GptqKernel } from './gptq-kernel';

export interface GptqOptions {
  /** Bits, symmetric or not, and rows per grid (default: one grid per output channel). */
  spec: QuantSpec;
  /** Names the layer in errors. */
  layer?: string;
  /**
   * Inner lazy-batch block (rows) whose rows update each other in the WebAssembly kernels
   * (gptq-kernel.ts); only speed depends on it. The paper uses one level of B = 128; here
   * the kernels' share grows with the block and ORT's per-run cost with the number of
   * blocks, so blocks of 32 sit inside outer blocks of 128 that ORT updates.
   */
  blockSize?: number;
  /** Rows per outer lazy batch, which take the errors of all earlier rows in one ORT product when it starts (default 128). */
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
  let blockSize = opts.blockSize ?? 32;
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
 * The inner loop of Algorithm 1 for rows [s0, s1) of a block that ends at `end`: each row
 * first takes the errors of the segment's earlier rows (left-looking), then is rounded;
 * rows [s1, end) then take the errors of the whole segment. Rows are contiguous, so every
 * inner loop runs along one. Returns Σ err² / 2.
 */
function quantizeSegment(k: GptqKernel, u: Float32Array, s0: number, s1: number, end: number, grids: readonly GroupGrid[], qgrid: QuantGrid): number {
  let loss = 0;
  for (let r = s0; r < s1; r++) {
    k.takeErrors(u, s0, r, r);
    loss += k.quantizeRow(r, grids[r - s0]!, qgrid.qmax, u[r * k.rows + r]!);
  }
  for (let r = s1; r < end; r++) k.takeErrors(u, s0, s1, r);
  return loss;
}

export async function gptq(weight: Float32Array, rows: number, cols: number, hessian: ArrayLike<number>, opts: GptqOptions): Promise<GptqResult> {
  const { grid: qgrid, blockSize, outerSize, percDamp, actOrder, layer } = validate(weight, rows, cols, hessian, opts);
  const { groupSize, groups } = qgrid;
  // The working weights live in the kernel's memory (directly, or after the act-order permutation).
  const kernel = GptqKernel.acquire(rows, cols);
  const w = actOrder ? weight.slice() : kernel.wp;
  if (!actOrder) w.set(weight);
  // H's diagonal, dead inputs (H_ii = 0) set to 1; the rest of H is read once, below.
  const diag = new Float64Array(rows);
  let deadInputs = 0;
  for (let i = 0; i < rows; i++) {
    diag[i] = hessian[i * rows + i]!;
    if (diag[i] === 0) {
      diag[i] = 1;
      w.fill(0, i * cols, (i + 1) * cols);
      deadInputs++;
    }
  }

  const groupRows = (g: number) => Math.min(rows, (g + 1) * groupSize) - g * groupSize;
  const grids: (GroupGrid | undefined)[] = new Array(groups);
  const fitOpts = (d: Float64Array, r0: number, n: number) => ({ shrinks: opts.shrinks, norm: opts.norm, rowWeights: opts.weightRows === false ? undefined : d.subarray(r0, r0 + n) });
  if (actOrder) {
    for (let g = 0; g < groups; g++) grids[g] = fitGroupGrid(w.subarray(g * groupSize * cols), groupRows(g), cols, qgrid, fitOpts(diag, g * groupSize, groupRows(g)));
  }

  // perm[k] = original row processed k-th.
  const perm = Array.from({ length: rows }, (_, i) => i);
  if (actOrder) perm.sort((a, b) => diag[b]! - diag[a]! || a - b);
  // Without act-order the permutation is the identity: work on the copy made above.
  const wp = kernel.wp;
  if (actOrder) {
    for (let i = 0; i < rows; i++) wp.set(w.subarray(perm[i]! * cols, (perm[i]! + 1) * cols), i * cols);
  }

  let meanDiag = 0;
  for (let i = 0; i < rows; i++) meanDiag += diag[perm[i]!]!;
  meanDiag /= rows;
  const diagP = Float64Array.from(perm, (r) => diag[r]! + percDamp * meanDiag);
  // The permuted, dampened Hessian in float32, the precision its inverse is computed in.
  const hp = kernel.h;
  for (let i = 0; i < rows; i++) {
    const src = perm[i]! * rows;
    const dst = i * rows;
    if (actOrder) for (let j = 0; j < rows; j++) hp[dst + j] = hessian[src + perm[j]!]!;
    else if (ArrayBuffer.isView(hessian)) hp.set((hessian as Float32Array | Float64Array).subarray(src, src + rows), dst); // converts natively
    else for (let j = 0; j < rows; j++) hp[dst + j] = hessian[src + j]!;
    hp[dst + i] = diagP[i]!;
  }
  const u = await inverseCholeskyUpper(hp, rows, { consume: true });

  // err: scaled errors (w - ŵ) / [U]_ii of every quantized row, the lazy batch's update
  // factors. A quantized row's weights are never read again, so its errors take their place.
  const { codes: codesP, deq: deqP, wp: err } = kernel;
  // U's block of one lazy update, copied contiguous (the largest is rows x outer block).
  const ubAll = new Float32Array(rows * outerSize);
  /**
   * `dst` (rows [r0, r1) of the weight, or a copy of them) takes the errors of the quantized
   * rows [e0, e1): dst -= U[e0:e1, r0:r1]ᵀ Err[e0:e1], the product in one ORT Gemm.
   */
  const lazyUpdate = async (dst: Float32Array, e0: number, e1: number, r0: number, r1: number): Promise<void> => {
    if (r1 <= r0 || e1 <= e0) return;
    const n = r1 - r0;
    const k = e1 - e0;
    const ub = ubAll.subarray(0, k * n);
    for (let r = e0; r < e1; r++) ub.set(u.subarray(r * rows + r0, r * rows + r1), (r - e0) * n);
    // In place through Gemm's C input: no product array to allocate and subtract in JS.
    await gemm({ data: ub, rows: k, cols: n }, { data: err.subarray(e0 * cols, e1 * cols), rows: k, cols }, { data: dst, rows: n, cols }, { transA: true, alpha: -1, out: dst });
  };
  /**
   * The rows [s0, s0 + n) of a group with every earlier row's update, for fitting its grid.
   * Rows past the current block have not taken the errors of its outer block's earlier rows
   * yet (they do when their own block starts), so those are applied to a copy.
   */
  const groupValues = async (s0: number, n: number, o1: number, o2: number, i2: number): Promise<Float32Array> => {
    if (s0 === 0 || s0 + n <= i2 || (s0 === o1 && s0 + n <= o2)) return wp.subarray(s0 * cols, (s0 + n) * cols);
    if (s0 + n > o2) throw new Error(`${layer}: gptq group at row ${s0} straddles a block (block ${blockSize}, outer ${outerSize})`);
    const v = wp.slice(s0 * cols, (s0 + n) * cols);
    await lazyUpdate(v.subarray((i2 - s0) * cols), o1, s0, i2, s0 + n);
    return v;
  };
  let loss = 0;
  // Two levels of lazy batches (Step 2), left-looking: when an outer block (128 rows) starts,
  // its rows take the errors of all rows before it in one ORT product; when an inner block
  // (32 rows) starts, its rows take those of the outer block's earlier rows; inside an inner
  // block, rows update each other in the WebAssembly kernels. Each product's output is one block of rows.
  for (let o1 = 0; o1 < rows; o1 += outerSize) {
    const o2 = Math.min(o1 + outerSize, rows);
    await lazyUpdate(wp.subarray(o1 * cols, o2 * cols), 0, o1, o1, o2);
    for (let i1 = o1; i1 < o2; i1 += blockSize) {
      const i2 = Math.min(i1 + blockSize, o2);
      await lazyUpdate(wp.subarray(i1 * cols, i2 * cols), o1, i1, i1, i2);
      // Segments end at group boundaries, so a group's grid is fitted after the rows before it updated its rows.
      for (let s0 = i1; s0 < i2; ) {
        let s1 = i2;
        if (!actOrder) {
          const g = Math.floor(s0 / groupSize);
          if (s0 === g * groupSize) {
            const n = groupRows(g);
            grids[g] = fitGroupGrid(await groupValues(s0, n, o1, o2, i2), n, cols, qgrid, fitOpts(diagP, s0, n));
          }
          s1 = Math.min(i2, (g + 1) * groupSize);
        }
        const rowGrids = perm.slice(s0, s1).map((r) => grids[Math.floor(r / groupSize)]!);
        loss += quantizeSegment(kernel, u, s0, s1, i2, rowGrids, qgrid);
        s0 = s1;
      }
    }
  }

  // Copies out of the kernel's memory (or, with act-order, back in the original row order).
  let codes: Uint8Array;
  let dequantized: Float32Array;
  if (!actOrder) {
    codes = codesP.slice();
    dequantized = deqP.slice();
  } else {
    codes = new Uint8Array(rows * cols);
    dequantized = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      codes.set(codesP.subarray(i * cols, (i + 1) * cols), perm[i]! * cols);
      dequantized.set(deqP.subarray(i * cols, (i + 1) * cols), perm[i]! * cols);
    }
  }
  kernel.release();
  const scales = new Float32Array(groups * cols);
  const zeros = new Uint8Array(groups * cols);
  for (let g = 0; g < groups; g++) {
    scales.set(grids[g]!.scale, g * cols);
    zeros.set(grids[g]!.zero, g * cols);
  }
  return { rows, cols, bits: qgrid.bits, symmetric: qgrid.symmetric, groupSize, codes, scales, zeros, dequantized, loss, deadInputs };
}
