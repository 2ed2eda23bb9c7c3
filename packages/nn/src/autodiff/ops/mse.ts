/** Mean squared error mean((a - b)^2) over all elements, composed of differentiable ops. */
import type { Value } from '../tracer';
import { mul, sub } from './elementwise';
import { reduceMean } from './reduce';

export function mse(a: Value, b: Value): Value {
  const d = sub(a, b);
  return reduceMean(mul(d, d));
}
