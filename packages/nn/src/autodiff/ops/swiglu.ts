/**
 * SiLU (Elfwing et al. 2018, "Sigmoid-Weighted Linear Units", eq. 1: x * sigmoid(x)) and
 * SwiGLU (Shazeer 2020, "GLU Variants Improve Transformer", eq. 6: silu(xW) * (xV)).
 * d silu(x)/dx = s (1 + x (1 - s)) with s = sigmoid(x).
 */
import type { Value } from '../tracer';
import { add, mul, sub } from './elementwise';

export function silu(x: Value): Value {
  const t = x.tracer;
  const s = t.op('Sigmoid', [x], {}, { shape: x.shape });
  const y = t.op('Mul', [x, s], {}, { shape: x.shape });
  t.record([x], [y], ([g]) => [mul(g!, mul(s, add(mul(x, sub(t.scalar(1), s)), 1)))]);
  return y;
}

/** silu(gate) * up, the Llama MLP's gated activation. */
export function swiglu(gate: Value, up: Value): Value {
  return mul(silu(gate), up);
}
