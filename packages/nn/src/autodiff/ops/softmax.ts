/**
 * Softmax over one axis. Its Jacobian-vector product is dx = y * (g - sum(g * y)) along
 * the axis (Bridle 1990; the standard softmax derivative dy_i/dx_j = y_i (δ_ij - y_j)).
 */
import { attr } from '@distillery/onnx';
import type { Value } from '../tracer';
import { mul, sub } from './elementwise';
import { reduceSum } from './reduce';

export function softmax(x: Value, axis = -1): Value {
  const t = x.tracer;
  const y = t.op('Softmax', [x], { axis: attr.int(axis) }, { shape: x.shape });
  t.record([x], [y], ([g]) => [mul(y, sub(g!, reduceSum(mul(g!, y), [axis], true)))]);
  return y;
}

/**
 * softmax(where(mask, x, -inf)) along the last axis. Masked entries of y are exactly 0,
 * so the softmax adjoint y * (g - sum(g y)) is already 0 there and the Where needs no
 * backward of its own (saves one pass over the [.., T, T] scores).
 */
export function maskedSoftmax(x: Value, mask: Value): Value {
  const t = x.tracer;
  const masked = t.op('Where', [mask, x, t.scalar(-Infinity)], {}, { shape: x.shape });
  const y = t.op('Softmax', [masked], { axis: attr.int(-1) }, { shape: x.shape });
  t.record([x], [y], ([g]) => [mul(y, sub(g!, reduceSum(mul(g!, y), [-1], true)))]);
  return y;
}
