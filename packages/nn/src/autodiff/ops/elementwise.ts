/**
 * Broadcasting arithmetic and unary functions with their derivatives (d(a+b) = da + db,
 * d(ab) = b da + a db, d(a/b) = da/b - a db/b^2, d sqrt x = dx / (2 sqrt x),
 * d(1/x) = -dx/x^2); broadcast inputs get their gradient summed back to their shape.
 */
import { broadcastShapes } from '../shape';
import type { Value } from '../tracer';
import { sumToShape } from './reduce';

type Operand = Value | number;

function lift(ref: Value, v: Operand): Value {
  return typeof v === 'number' ? ref.tracer.scalar(v) : v;
}

function binary(opType: string, a: Value, b: Value): Value {
  return a.tracer.op(opType, [a, b], {}, { shape: broadcastShapes(a.shape, b.shape) });
}

export function add(a: Value, bIn: Operand): Value {
  const b = lift(a, bIn);
  const y = binary('Add', a, b);
  a.tracer.record([a, b], [y], ([g], needs) => [needs[0] ? sumToShape(g!, a.shape) : undefined, needs[1] ? sumToShape(g!, b.shape) : undefined]);
  return y;
}

export function sub(a: Value, bIn: Operand): Value {
  const b = lift(a, bIn);
  const y = binary('Sub', a, b);
  a.tracer.record([a, b], [y], ([g], needs) => [needs[0] ? sumToShape(g!, a.shape) : undefined, needs[1] ? sumToShape(neg(g!), b.shape) : undefined]);
  return y;
}

export function mul(a: Value, bIn: Operand): Value {
  const b = lift(a, bIn);
  const y = binary('Mul', a, b);
  a.tracer.record([a, b], [y], ([g], needs) => [
    needs[0] ? sumToShape(mul(g!, b), a.shape) : undefined,
    needs[1] ? sumToShape(mul(g!, a), b.shape) : undefined,
  ]);
  return y;
}

export function div(a: Value, bIn: Operand): Value {
  const b = lift(a, bIn);
  const y = binary('Div', a, b);
  a.tracer.record([a, b], [y], ([g], needs) => [
    needs[0] ? sumToShape(div(g!, b), a.shape) : undefined,
    needs[1] ? sumToShape(neg(div(mul(g!, y), b)), b.shape) : undefined,
  ]);
  return y;
}

export function neg(x: Value): Value {
  const y = x.tracer.op('Neg', [x], {}, { shape: x.shape });
  x.tracer.record([x], [y], ([g]) => [neg(g!)]);
  return y;
}

export function sqrt(x: Value): Value {
  const y = x.tracer.op('Sqrt', [x], {}, { shape: x.shape });
  x.tracer.record([x], [y], ([g]) => [div(g!, mul(y, 2))]);
  return y;
}

export function reciprocal(x: Value): Value {
  const y = x.tracer.op('Reciprocal', [x], {}, { shape: x.shape });
  x.tracer.record([x], [y], ([g]) => [neg(mul(g!, mul(y, y)))]);
  return y;
}

export function exp(x: Value): Value {
  const y = x.tracer.op('Exp', [x], {}, { shape: x.shape });
  x.tracer.record([x], [y], ([g]) => [mul(g!, y)]);
  return y;
}

/** cond ? a : b, with cond a bool tensor (never differentiated). Masks without 0 * inf. */
export function where(cond: Value, a: Value, b: Value): Value {
  const t = a.tracer;
  const y = t.op('Where', [cond, a, b], {}, { shape: broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape)) });
  t.record([cond, a, b], [y], ([g], needs) => {
    const zero = t.scalar(0);
    return [
      undefined,
      needs[1] ? sumToShape(where(cond, g!, zero), a.shape) : undefined,
      needs[2] ? sumToShape(where(cond, zero, g!), b.shape) : undefined,
    ];
  });
  return y;
}
