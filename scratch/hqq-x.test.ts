import { it } from 'vitest';
import { hqq } from '../packages/techniques/src/quantize/hqq';
import { dequantizeWeight, quantizeWeight } from '../packages/techniques/src/kit/quantizer';
import { seededUniform } from '../packages/techniques/test/mlp-fixture';
function heavyTailed(n: number, seed: number): Float32Array {
  const u = seededUniform(n, seed, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { const a = Math.abs(u[i]!) || 1e-9; out[i] = Math.sign(u[i]!) * -Math.log(a) * 0.02; if (i % 97 === 0) out[i]! *= 10; }
  return out;
}
const lp = (a: Float32Array, b: Float32Array, p: number) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!) ** p, 0) / a.length;
it('x', () => {
  const rows = 128, cols = 48; const w = heavyTailed(rows * cols, 9);
  for (const bits of [2, 3, 4]) for (const beta of [1, 10, 100]) {
    const spec = { bits, symmetric: false, groupSize: 64 };
    const r = hqq(w, rows, cols, { spec, beta, iterations: 100 });
    const rtn = dequantizeWeight(quantizeWeight(w, rows, cols, spec));
    console.log(bits, beta, r.iterations, r.initialError.toExponential(3), r.error.toExponential(3), lp(w, rtn, 1).toExponential(3), lp(w, r.dequantized, 0.7).toExponential(3), lp(w, rtn, 0.7).toExponential(3));
  }
});
