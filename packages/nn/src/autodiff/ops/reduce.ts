/**
 * Reductions and broadcasting, which are each other's adjoints: the gradient of a sum is
 * its output gradient broadcast back (Expand), and the gradient of a broadcast is a sum
 * over the broadcast axes (sumToShape). A mean is a sum scaled by 1/n.
 */
import { attr } from '@distillery/onnx';
import { dimProduct, normAxis, sameDim, type SymDim } from '../shape';
import type { Value } from '../tracer';
import { shapeOf, squeeze, unsqueeze } from './shape-ops';

function reducedShape(x: Value, axes: number[], keepdims: boolean): SymDim[] {
  return keepdims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
}

function allAxes(x: Value, axes?: readonly number[]): number[] {
  return (axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, x.rank)).sort((a, b) => a - b);
}

/** Sum over `axes` (default all). */
export function reduceSum(x: Value, axes?: readonly number[], keepdims = false): Value {
  const t = x.tracer;
  const ax = allAxes(x, axes);
  const y = t.op('ReduceSum', [x, t.constant(ax, [ax.length], 'int64')], { keepdims: attr.int(keepdims ? 1 : 0) }, { shape: reducedShape(x, ax, keepdims) });
  t.record([x], [y], ([g]) => [expandLike(keepdims ? g! : unsqueeze(g!, ax), x)]);
  return y;
}

/** Mean over `axes` (default all). */
export function reduceMean(x: Value, axes?: readonly number[], keepdims = false): Value {
  const t = x.tracer;
  const ax = allAxes(x, axes);
  // Opset 17's ReduceMean takes axes as an attribute (ReduceSum already as an input).
  const y = t.op('ReduceMean', [x], { axes: attr.ints(ax), keepdims: attr.int(keepdims ? 1 : 0) }, { shape: reducedShape(x, ax, keepdims) });
  t.record([x], [y], ([g]) => {
    const spread = expandLike(keepdims ? g! : unsqueeze(g!, ax), x);
    return [scaleBy(spread, inverseCount(x, ax))];
  });
  return y;
}

function scaleBy(x: Value, s: Value): Value {
  const t = x.tracer;
  const y = t.op('Mul', [x, s], {}, { shape: x.shape });
  t.record([x], [y], ([g]) => [scaleBy(g!, s)]);
  return y;
}

/** 1 / (number of elements reduced), a constant when static, else computed from Shape. */
function inverseCount(x: Value, axes: number[]): Value {
  const t = x.tracer;
  const n = dimProduct(axes.map((a) => x.shape[a]!));
  if (typeof n === 'number') return t.scalar(1 / n);
  const dims = t.op('Gather', [t.op('Shape', [x], {}, { shape: [x.rank], kind: 'int64' }), t.constant(axes, [axes.length], 'int64')], {}, { shape: [axes.length], kind: 'int64' });
  const count = t.op('ReduceProd', [dims], { keepdims: attr.int(0) }, { shape: [], kind: 'int64' });
  const countF = t.op('Cast', [count], { to: attr.int(t.dtype === 'float64' ? 11 : 1) }, { shape: [] });
  return t.op('Reciprocal', [countF], {}, { shape: [] });
}

/** Broadcast `x` to the shape of `like`. */
export function expandLike(x: Value, like: Value): Value {
  const t = x.tracer;
  if (x.rank === like.rank && x.shape.every((d, i) => sameDim(d, like.shape[i]!))) return x;
  const y = t.op('Expand', [x, shapeOf(like)], {}, { shape: like.shape });
  t.record([x], [y], ([g]) => [sumToShape(g!, x.shape)]);
  return y;
}

/**
 * Sum a broadcast gradient back to `shape`: over leading axes the input lacked and over
 * axes where the input had size 1 and the output did not.
 */
export function sumToShape(g: Value, shape: readonly SymDim[]): Value {
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return g;
  const summed = reduceSum(g, axes, true);
  return lead > 0 ? squeeze(summed, Array.from({ length: lead }, (_, i) => i)) : summed;
}
