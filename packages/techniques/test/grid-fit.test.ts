import { describe, expect, it } from 'vitest';
import { fitGroupGrid, fitGroupGridByGram, quantizeWithGrids, shrinkCandidates } from '../src/kit/grid-fit';
import { dequantizeWeight, groupScale, quantizeValue, quantizeWeight, resolveSpec, type QuantGrid } from '../src/kit/quantizer';
import { correlatedActivations, outputError, slowGram } from './quant-method-fixtures';
import { seededUniform } from './mlp-fixture';

/** Error of one column on the grid of range [f·lo, f·hi], by the definition. */
function columnError(values: Float32Array, n: number, cols: number, c: number, grid: QuantGrid, f: number, err: (d: number[]) => number): number {
  const col = Array.from({ length: n }, (_, r) => values[r * cols + c]!);
  const g = groupScale(f * Math.min(...col), f * Math.max(...col), grid);
  return err(col.map((x) => x - (quantizeValue(x, g.scale, g.zero, grid) - g.zero) * g.scale));
}

describe('fitGroupGrid', () => {
  const n = 16;
  const cols = 7;
  const values = seededUniform(n * cols, 3, 0.5);
  for (let c = 0; c < cols; c++) values[(c % n) * cols + c] = 2; // one outlier per column, so shrinking pays
  const shrinks = shrinkCandidates(0.5, 0.05);

  it('lists the shrink factors from 1 down to the minimum', () => {
    expect(shrinks).toEqual([1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5]);
    expect(() => shrinkCandidates(0, 0.1)).toThrow(/0 < min <= 1/);
  });

  for (const symmetric of [true, false]) {
    it(`picks, per column, the shrink with the least weighted |d|^p (brute force, ${symmetric ? 'symmetric' : 'asymmetric'})`, () => {
      const grid = resolveSpec({ bits: 3, symmetric }, n);
      const h = Array.from({ length: n }, (_, r) => 1 + (r % 3));
      const err = (d: number[]) => d.reduce((s, x, r) => s + h[r]! * Math.abs(x) ** 2.4, 0);
      const fit = fitGroupGrid(values, n, cols, grid, { shrinks, rowWeights: h });
      let shrunk = 0;
      for (let c = 0; c < cols; c++) {
        const errs = shrinks.map((f) => columnError(values, n, cols, c, grid, f, err));
        const best = errs.indexOf(Math.min(...errs));
        const col = Array.from({ length: n }, (_, r) => values[r * cols + c]!);
        const g = groupScale(shrinks[best]! * Math.min(...col), shrinks[best]! * Math.max(...col), grid);
        expect(fit.scale[c]).toBe(g.scale);
        expect(fit.zero[c]).toBe(g.zero);
        if (best > 0) shrunk++;
      }
      expect(shrunk).toBeGreaterThan(0);
    });
  }

  it('by a Gram matrix, minimises dᵀ G d per column (brute force)', async () => {
    const grid = resolveSpec({ bits: 3, symmetric: true }, n);
    const x = correlatedActivations(64, n, 5);
    const g = slowGram(x, 64, n);
    const err = (d: number[]) => d.reduce((s, di, i) => s + di * d.reduce((t, dj, j) => t + g[i * n + j]! * dj, 0), 0);
    const fit = await fitGroupGridByGram(values, n, cols, grid, shrinks, Float32Array.from(g));
    for (let c = 0; c < cols; c++) {
      const errs = shrinks.map((f) => columnError(values, n, cols, c, grid, f, err));
      const best = errs.indexOf(Math.min(...errs));
      const col = Array.from({ length: n }, (_, r) => values[r * cols + c]!);
      expect(fit.scale[c]).toBe(groupScale(shrinks[best]! * Math.min(...col), shrinks[best]! * Math.max(...col), grid).scale);
    }
  });

  it("by a Gram matrix with the authors' clamp: the min/max grid of the weights clamped to ±f·max|w| (brute force)", async () => {
    const grid = resolveSpec({ bits: 3, symmetric: false }, n);
    // Skewed columns (mostly positive with one large value), where clamping and scaling the range differ.
    const skewed = Float32Array.from(values, (v) => v + 0.3);
    const x = correlatedActivations(64, n, 5);
    const g = slowGram(x, 64, n);
    const err = (d: number[]) => d.reduce((s, di, i) => s + di * d.reduce((t, dj, j) => t + g[i * n + j]! * dj, 0), 0);
    const fit = await fitGroupGridByGram(skewed, n, cols, grid, shrinks, Float32Array.from(g), 'clamp');
    let keptMin = 0;
    for (let c = 0; c < cols; c++) {
      const col = Array.from({ length: n }, (_, r) => skewed[r * cols + c]!);
      const a = Math.max(...col.map(Math.abs));
      const grids = shrinks.map((f) => {
        const clamped = col.map((v) => Math.min(Math.max(v, -f * a), f * a));
        return groupScale(Math.min(...clamped), Math.max(...clamped), grid);
      });
      const errs = grids.map((q) => err(col.map((v) => v - (quantizeValue(v, q.scale, q.zero, grid) - q.zero) * q.scale)));
      const best = errs.indexOf(Math.min(...errs));
      expect([fit.scale[c], fit.zero[c]]).toEqual([grids[best]!.scale, grids[best]!.zero]);
      if (best > 0 && grids[best]!.zero !== groupScale(shrinks[best]! * Math.min(...col), shrinks[best]! * Math.max(...col), grid).zero) keptMin++;
    }
    expect(keptMin).toBeGreaterThan(0);
  });

  it('gives a symmetric grid the same scales in both shrink forms', async () => {
    const grid = resolveSpec({ bits: 3, symmetric: true }, n);
    const g = Float32Array.from(slowGram(correlatedActivations(64, n, 5), 64, n));
    expect(await fitGroupGridByGram(values, n, cols, grid, shrinks, g, 'clamp')).toEqual(await fitGroupGridByGram(values, n, cols, grid, shrinks, g, 'range'));
  });

  it('without shrinks is the min/max grid of quantizeWeight, and quantizeWithGrids rounds on the fitted grids', async () => {
    const rows = 32;
    const w = seededUniform(rows * cols, 9, 0.3);
    const spec = { bits: 4, symmetric: false, groupSize: 8 };
    const plain = await quantizeWithGrids(w, rows, cols, spec, (v, _r0, k, grid) => fitGroupGrid(v, k, cols, grid));
    expect(plain).toEqual(quantizeWeight(w, rows, cols, spec));
    // Output error on correlated inputs with the group's Gram block: never worse than min/max, per group and column.
    const x = correlatedActivations(256, rows, 4);
    const gram = slowGram(x, 256, rows);
    const searched = await quantizeWithGrids(w, rows, cols, spec, (v, r0, k, grid) => {
      const g = Float32Array.from({ length: k * k }, (_, i) => gram[(r0 + Math.floor(i / k)) * rows + r0 + (i % k)]!);
      return fitGroupGridByGram(v, k, cols, grid, shrinks, g);
    });
    expect(outputError(x, 256, w, dequantizeWeight(searched), rows, cols)).toBeLessThan(outputError(x, 256, w, dequantizeWeight(plain), rows, cols));
  });
});
