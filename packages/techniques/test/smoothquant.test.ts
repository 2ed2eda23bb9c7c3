import { describe, expect, it } from 'vitest';
import { roundHalfEven } from '@distillery/onnx';
import { smoothQuantScales, weightRowAbsMax } from '../src/quantize/smoothquant';
import { dequantizeWeight, quantizeWeight } from '../src/kit/quantizer';
import { correlatedActivations } from './quant-method-fixtures';
import { seededUniform } from './mlp-fixture';

/** What DynamicQuantizeLinear + DequantizeLinear do to a tensor: uint8 over [min(x, 0), max(x, 0)]. */
function dynamicInt8(x: Float32Array): Float32Array {
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const s = (hi - lo) / 255 || 1;
  const z = Math.min(255, Math.max(0, roundHalfEven(-lo / s)));
  return x.map((v) => (Math.min(255, Math.max(0, roundHalfEven(v / s) + z)) - z) * s);
}

function matmul(x: Float32Array, n: number, k: number, w: Float32Array, m: number): Float64Array {
  const y = new Float64Array(n * m);
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) for (let c = 0; c < m; c++) y[r * m + c]! += x[r * k + j]! * w[j * m + c]!;
  return y;
}

describe('smoothQuantScales', () => {
  it('is max|X_j|^a / max|W_j|^(1-a) per channel, shared over layers by the max of their rows', () => {
    const act = Float32Array.from([4, 0.5, 100, 0]);
    const w1 = { values: Float32Array.from([0.1, -0.2, 0.3, 0.05, -1, 0.5, 0, 0]), rows: 4, cols: 2 };
    const w2 = { values: Float32Array.from([0.4, 0.1, 0.2, 2]), rows: 4, cols: 1 };
    const wmax = weightRowAbsMax([w1, w2]);
    expect([...wmax]).toEqual([0.4, 0.3, 1, 2].map(Math.fround));
    const s = smoothQuantScales(act, wmax, 0.5);
    [4, 0.5, 100, 1e-5].forEach((a, j) => expect(s[j]).toBeCloseTo(Math.sqrt(a) / Math.sqrt(wmax[j]!), 5));
    expect(() => smoothQuantScales(act, wmax, 1.5)).toThrow(/alpha must be in \[0, 1\]/);
  });

  it('keeps X W unchanged in float and lowers the W8A8 error when activations have outlier channels', () => {
    const n = 64;
    const k = 48;
    const m = 16;
    const x = correlatedActivations(n, k, 41, 4);
    const w = seededUniform(k * m, 42, 0.3);
    const actMax = new Float32Array(k);
    for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) actMax[j] = Math.max(actMax[j]!, Math.abs(x[r * k + j]!));
    const s = smoothQuantScales(actMax, weightRowAbsMax([{ values: w, rows: k, cols: m }]), 0.5);
    const xs = x.map((v, i) => v / s[i % k]!);
    const ws = w.map((v, i) => v * s[Math.floor(i / m)]!);
    const exact = matmul(x, n, k, w, m);
    const smoothed = matmul(xs, n, k, ws, m);
    for (let i = 0; i < exact.length; i++) expect(smoothed[i]).toBeCloseTo(exact[i]!, 3);
    const w8 = (v: Float32Array) => dequantizeWeight(quantizeWeight(v, k, m, { bits: 8, symmetric: true }));
    const err = (y: Float64Array) => y.reduce((a, v, i) => a + (v - exact[i]!) ** 2, 0);
    const plain = err(matmul(dynamicInt8(x), n, k, w8(w), m));
    const smooth = err(matmul(dynamicInt8(xs), n, k, w8(ws), m));
    expect(smooth).toBeLessThan(0.5 * plain);
  });
});
