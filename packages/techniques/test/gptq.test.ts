import { describe, expect, it } from 'vitest';
import { gptq } from '../src/quantize/gptq';
import { fitGroupGrid, shrinkCandidates } from '../src/kit/grid-fit';
import { dequantizeWeight, quantizeValue, quantizeWeight, resolveSpec, type QuantGrid, type QuantSpec } from '../src/kit/quantizer';
import { inverseCholeskyUpper } from '../src/linalg/inverse-cholesky';
import { NotPositiveDefiniteError } from '../src/linalg/cholesky';
import { correlatedActivations, outputError, slowGram } from './quant-method-fixtures';
import { seededUniform } from './mlp-fixture';

/** Gauss-Jordan inverse in float64. */
function slowInverse(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) {
      [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
      [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!];
    }
    const d = m[c * n + c]!;
    for (let k = 0; k < n; k++) {
      m[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]!;
      for (let k = 0; k < n; k++) {
        m[r * n + k]! -= f * m[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return inv;
}

/**
 * The same algorithm without its tricks: one row at a time, the OBS update of every later
 * row (Frantar et al. 2022, eq. 2) and the explicit downdate of H^-1 (eq. 3) in float64;
 * no Cholesky, no blocks.
 */
function slowGptq(weight: Float32Array, rows: number, cols: number, h0: Float64Array, grid: QuantGrid, actOrder: boolean, percDamp: number, shrinks?: number[]) {
  const w = Float64Array.from(weight);
  const h = Float64Array.from(h0);
  for (let i = 0; i < rows; i++) if (h[i * rows + i] === 0) { h[i * rows + i] = 1; for (let c = 0; c < cols; c++) w[i * cols + c] = 0; }
  const groupSize = grid.groupSize;
  type G = ReturnType<typeof fitGroupGrid>;
  // Grid search errors are weighted by the Hessian diagonal of the rows in the order they are fitted.
  const fit = (r0: number, from: Float64Array, order: number[], diag: (i: number) => number): G => {
    const n = Math.min(groupSize, rows - r0);
    const values = Float32Array.from({ length: n * cols }, (_, k) => from[order[r0 + Math.floor(k / cols)]! * cols + (k % cols)]!);
    return fitGroupGrid(values, n, cols, grid, { shrinks, rowWeights: Array.from({ length: n }, (_, i) => diag(r0 + i)) });
  };
  const identity = Array.from({ length: rows }, (_, i) => i);
  const staticGrids = actOrder ? Array.from({ length: grid.groups }, (_, g) => fit(g * groupSize, w, identity, (i) => h[i * rows + i]!)) : [];
  const perm = [...identity];
  if (actOrder) perm.sort((a, b) => h[b * rows + b]! - h[a * rows + a]! || a - b);
  const hp = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < rows; j++) hp[i * rows + j] = h[perm[i]! * rows + perm[j]!]!;
  let mean = 0;
  for (let i = 0; i < rows; i++) mean += hp[i * rows + i]! / rows;
  for (let i = 0; i < rows; i++) hp[i * rows + i]! += percDamp * mean;
  const hinv = slowInverse(hp, rows);
  const codes = new Uint8Array(rows * cols);
  const deq = new Float32Array(rows * cols);
  let loss = 0;
  let g: G | undefined;
  for (let k = 0; k < rows; k++) {
    const orig = perm[k]!;
    if (actOrder) g = staticGrids[Math.floor(orig / groupSize)];
    else if (k % groupSize === 0) g = fit(k, w, perm, (i) => hp[i * rows + i]!);
    const d = hinv[k * rows + k]!;
    for (let c = 0; c < cols; c++) {
      const x = w[orig * cols + c]!;
      const q = quantizeValue(x, g!.scale[c]!, g!.zero[c]!, grid);
      const dq = Math.fround((q - g!.zero[c]!) * g!.scale[c]!);
      codes[orig * cols + c] = q;
      deq[orig * cols + c] = dq;
      const e = (x - dq) / d;
      loss += ((x - dq) * (x - dq)) / d / 2;
      for (let j = k + 1; j < rows; j++) w[perm[j]! * cols + c]! -= e * hinv[k * rows + j]!;
    }
    for (let a = k + 1; a < rows; a++) for (let b = k + 1; b < rows; b++) hinv[a * rows + b]! -= (hinv[a * rows + k]! * hinv[k * rows + b]!) / d;
  }
  return { codes, deq, loss };
}

describe('inverseCholeskyUpper', () => {
  for (const n of [40, 129, 300]) {
    it(`U H U^T is the identity, so U^T U = H^-1 (n = ${n}${n > 64 ? ', blocked in ORT' : ''})`, async () => {
      const x = correlatedActivations(2 * n, n, 3);
      const h = slowGram(x, 2 * n, n);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += h[i * n + i]! / n;
      for (let i = 0; i < n; i++) h[i * n + i]! += 0.01 * mean; // GPTQ's dampening
      const u = await inverseCholeskyUpper(h, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
      const uh = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let k = i; k < n; k++) for (let j = 0; j < n; j++) uh[i * n + j]! += u[i * n + k]! * h[k * n + j]!;
      let maxErr = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += uh[i * n + k]! * u[j * n + k]!;
          maxErr = Math.max(maxErr, Math.abs(s - (i === j ? 1 : 0)));
        }
      expect(maxErr).toBeLessThan(1e-4);
    });
  }

  it('names the pivot of a matrix that is not positive definite', async () => {
    const h = new Float64Array([4, 0, 0, 0, 1, 0, 0, 0, -1]);
    await expect(inverseCholeskyUpper(h, 3)).rejects.toThrow(NotPositiveDefiniteError);
    await expect(inverseCholeskyUpper(h, 3)).rejects.toThrow(/pivot 2/);
  });
});

describe('gptq', () => {
  const rows = 48;
  const cols = 10;
  const n = 200;
  const x = correlatedActivations(n, rows, 11);
  const h = slowGram(x, n, rows).map((v) => (2 * v) / n);
  const w = seededUniform(rows * cols, 5, 0.3);
  const spec = (groupSize: number): QuantSpec => ({ bits: 3, symmetric: false, groupSize });

  const search = shrinkCandidates(0.6, 0.05);
  for (const [groupSize, blockSize, actOrder, shrinks] of [
    [rows, 16, false, undefined],
    [8, 16, false, undefined],
    [16, 8, false, undefined],
    [8, 16, true, undefined],
    [rows, 5, true, undefined],
    [8, 16, false, search],
    [16, 8, true, search],
  ] as const) {
    it(`matches the slow column-by-column reference (group ${groupSize}, block ${blockSize}, act-order ${actOrder}, ${shrinks ? 'grid search' : 'min/max grid'})`, async () => {
      const fast = await gptq(w, rows, cols, h, { spec: spec(groupSize), blockSize, actOrder, percDamp: 0.01, shrinks });
      const slow = slowGptq(w, rows, cols, h, resolveSpec(spec(groupSize), rows), actOrder, 0.01, shrinks ? [...shrinks] : undefined);
      let mismatched = 0;
      for (let i = 0; i < rows * cols; i++) if (fast.codes[i] !== slow.codes[i]) mismatched++;
      expect(mismatched).toBe(0);
      for (let i = 0; i < rows * cols; i++) expect(fast.dequantized[i]).toBeCloseTo(slow.deq[i]!, 6);
      expect(fast.loss).toBeCloseTo(slow.loss, 4);
      // The stored grids reproduce the dequantized weights.
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const g = Math.floor(r / groupSize) * cols + c;
          expect(Math.fround((fast.codes[r * cols + c]! - fast.zeros[g]!) * fast.scales[g]!)).toBe(fast.dequantized[r * cols + c]);
        }
    });
  }

  for (const [groupSize, actOrder] of [[8, false], [rows, false], [12, false], [8, true]] as const) {
    it(`matches the slow reference across several outer blocks (group ${groupSize}, act-order ${actOrder}, blocks of 4 in outer blocks of 16)`, async () => {
      const fast = await gptq(w, rows, cols, h, { spec: spec(groupSize), blockSize: 4, outerBlockSize: 16, actOrder });
      const slow = slowGptq(w, rows, cols, h, resolveSpec(spec(groupSize), rows), actOrder, 0.01);
      expect([...fast.codes]).toEqual([...slow.codes]);
      for (let i = 0; i < rows * cols; i++) expect(fast.dequantized[i]).toBeCloseTo(slow.deq[i]!, 6);
    });
  }

  it('lowers the layer output error ||XW - XŴ|| below round-to-nearest on correlated inputs', async () => {
    const d = 256; // above the Cholesky base size: exercises the ORT-blocked factorization
    const out = 64;
    const m = 1024;
    const xs = correlatedActivations(m, d, 21, 4);
    const hs = slowGram(xs, m, d).map((v) => (2 * v) / m);
    const ws = seededUniform(d * out, 22, 0.2);
    const spec4: QuantSpec = { bits: 4, symmetric: true, groupSize: 64 };
    const eRtn = outputError(xs, m, ws, dequantizeWeight(quantizeWeight(ws, d, out, spec4)), d, out);
    for (const actOrder of [false, true]) {
      const q = await gptq(ws, d, out, hs, { spec: spec4, actOrder });
      expect(q.dequantized).toEqual(dequantizeWeight(q));
      const eGptq = outputError(xs, m, ws, q.dequantized, d, out);
      expect(eGptq).toBeLessThan(0.7 * eRtn);
    }
  });

  it('zeroes inputs that calibration never activated and reports them', async () => {
    const h2 = Float64Array.from(h);
    for (let j = 0; j < rows; j++) { h2[3 * rows + j] = 0; h2[j * rows + 3] = 0; }
    const q = await gptq(w, rows, cols, h2, { spec: spec(8) });
    expect(q.deadInputs).toBe(1);
    for (let c = 0; c < cols; c++) expect(q.dequantized[3 * cols + c]).toBeCloseTo(0, 6);
  });

  it('handles a last group shorter than the others', async () => {
    const fast = await gptq(w, rows, cols, h, { spec: spec(20), blockSize: 20 });
    const slowRows = slowGptq(w, rows, cols, h, resolveSpec(spec(20), rows), false, 0.01);
    expect(fast.scales.length).toBe(3 * cols);
    expect([...fast.codes]).toEqual([...slowRows.codes]);
    for (let i = 0; i < rows * cols; i++) expect(fast.dequantized[i]).toBeCloseTo(slowRows.deq[i]!, 6);
  });

  it('rejects a group larger than the layer, naming the layer and the parameter', async () => {
    await expect(gptq(w, rows, cols, h, { spec: spec(64), layer: 'layers.0/mlp/up_proj' })).rejects.toThrow(/layers.0\/mlp\/up_proj: groupSize 64 is larger/);
  });
});
