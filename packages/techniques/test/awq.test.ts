import { describe, expect, it } from 'vitest';
import { awqEffectiveWeight, awqSearch } from '../src/quantize/awq';
import { dequantizeWeight, quantizeWeight, type QuantSpec } from '../src/kit/quantizer';
import { correlatedActivations, outputError, slowGram } from './quant-method-fixtures';
import { seededUniform } from './mlp-fixture';

/** The search done by its definition: every α, the raw activations, float64 sums. */
function bruteForce(w: Float32Array, rows: number, cols: number, x: Float32Array, n: number, spec: QuantSpec, gridPoints: number) {
  const meanAbs = new Float64Array(rows);
  for (let r = 0; r < n; r++) for (let i = 0; i < rows; i++) meanAbs[i]! += Math.abs(x[r * rows + i]!) / n;
  let best = { alpha: -1, loss: Infinity, s: [] as number[] };
  for (let k = 0; k <= gridPoints; k++) {
    const alpha = k / gridPoints;
    const raw = [...meanAbs].map((m) => Math.max(m, 1e-4) ** alpha);
    const norm = Math.sqrt(Math.max(...raw) * Math.min(...raw));
    const s = raw.map((v) => v / norm);
    const scaled = Float32Array.from(w, (v, i) => v * Math.fround(s[Math.floor(i / cols)]!));
    const q = dequantizeWeight(quantizeWeight(scaled, rows, cols, spec));
    let loss = 0;
    for (let r = 0; r < n; r++)
      for (let c = 0; c < cols; c++) {
        let yq = 0;
        let y = 0;
        for (let i = 0; i < rows; i++) {
          yq += (x[r * rows + i]! / Math.fround(s[i]!)) * q[i * cols + c]!;
          y += x[r * rows + i]! * w[i * cols + c]!;
        }
        loss += (yq - y) ** 2;
      }
    if (loss < best.loss) best = { alpha, loss, s };
  }
  return { ...best, meanAbs: Float32Array.from(meanAbs) };
}

describe('awqSearch', () => {
  const rows = 32;
  const cols = 12;
  const n = 128;
  const x = correlatedActivations(n, rows, 31, 3); // a few channels carry 20x larger activations
  const w = seededUniform(rows * cols, 32, 0.4);
  const spec: QuantSpec = { bits: 3, symmetric: false, groupSize: 16 };

  it('chooses the α and the scales a brute-force search over the raw activations chooses', async () => {
    const ref = bruteForce(w, rows, cols, x, n, spec, 10);
    const gram = Float32Array.from(slowGram(x, n, rows));
    const got = await awqSearch(w, rows, cols, { gram, meanAbs: ref.meanAbs }, { spec, gridPoints: 10 });
    expect(got.losses).toHaveLength(11);
    expect(got.alpha).toBe(ref.alpha);
    expect(got.alpha).toBeGreaterThan(0); // the outlier channels make scaling worth it
    for (let i = 0; i < rows; i++) expect(got.scales[i]).toBeCloseTo(ref.s[i]!, 5);
    const best = got.losses.find((l) => l.alpha === got.alpha)!.loss;
    expect(best / ref.loss).toBeCloseTo(1, 3);
  });

  it('lowers the output error below round-to-nearest with the same grid', async () => {
    const meanAbs = new Float32Array(rows);
    for (let r = 0; r < n; r++) for (let i = 0; i < rows; i++) meanAbs[i]! += Math.abs(x[r * rows + i]!) / n;
    const got = await awqSearch(w, rows, cols, { gram: Float32Array.from(slowGram(x, n, rows)), meanAbs }, { spec });
    const eAwq = outputError(x, n, w, awqEffectiveWeight(w, rows, cols, got.scales, spec), rows, cols);
    const eRtn = outputError(x, n, w, dequantizeWeight(quantizeWeight(w, rows, cols, spec)), rows, cols);
    expect(got.losses[0]!.loss / eRtn).toBeCloseTo(1, 3); // α = 0 is RTN
    expect(eAwq).toBeLessThan(0.8 * eRtn);
  });

  it('names the layer when the statistics do not fit the weight', async () => {
    await expect(awqSearch(w, rows, cols, { gram: new Float32Array(4), meanAbs: new Float32Array(rows) }, { spec, layer: 'layers.1/attn/q_proj' })).rejects.toThrow(
      /layers.1\/attn\/q_proj: awq got a Gram matrix of 4 values/,
    );
  });
});
