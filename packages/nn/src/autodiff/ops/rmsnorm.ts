/**
 * RMSNorm (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", eq. 4) with eps
 * inside the square root: y = x * r * w, r = 1 / sqrt(mean(x^2) + eps), over the last axis.
 * Fused backward, with x̂ = x r and ĝ = dy * w:
 *   dx = r (ĝ - x̂ mean(ĝ x̂)),  dw = sum over rows of dy * x̂.
 */
import { attr } from '@distillery/onnx';
import type { Value } from '../tracer';
import { mul, sub } from './elementwise';
import { reduceMean, sumToShape } from './reduce';

export function rmsNorm(x: Value, weight: Value, eps: number): Value {
  const t = x.tracer;
  const rowShape = x.shape.map((d, i) => (i === x.rank - 1 ? 1 : d));
  const sq = t.op('Mul', [x, x], {}, { shape: x.shape });
  const ms = t.op('ReduceMean', [sq], { axes: attr.ints([x.rank - 1]), keepdims: attr.int(1) }, { shape: rowShape });
  const r = t.op('Reciprocal', [t.op('Sqrt', [t.op('Add', [ms, t.scalar(eps)], {}, { shape: rowShape })], {}, { shape: rowShape })], {}, { shape: rowShape });
  const xhat = t.op('Mul', [x, r], {}, { shape: x.shape });
  const y = t.op('Mul', [xhat, weight], {}, { shape: x.shape });
  t.record([x, weight], [y], ([g], needs) => {
    const gw = needs[1] ? sumToShape(mul(g!, xhat), weight.shape) : undefined;
    let gx: Value | undefined;
    if (needs[0]) {
      const ghat = mul(g!, weight);
      gx = mul(sub(ghat, mul(xhat, reduceMean(mul(ghat, xhat), [-1], true))), r);
    }
    return [gx, gw];
  });
  return y;
}
