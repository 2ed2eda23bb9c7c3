/**
 * Layout ops and their adjoints: Reshape and Squeeze/Unsqueeze are undone by the inverse
 * reshape, Transpose by the inverse permutation, Slice by zero Pad, Concat by Split.
 * (Each is linear, so its gradient is its transpose: Griewank & Walther 2008, sec. 3.1.)
 */
import { attr } from '@distillery/onnx';
import { dimProduct, dimQuotient, isStatic, normAxis, sameDim, type SymDim } from '../shape';
import type { Value } from '../tracer';

/** The shape of `v` as an int64 tensor: a constant when static, else a Shape node. */
export function shapeOf(v: Value): Value {
  const t = v.tracer;
  if (isStatic(v.shape)) return t.constant(v.shape, [v.rank], 'int64');
  return t.op('Shape', [v], {}, { shape: [v.rank], kind: 'int64' });
}

/**
 * Reshape to `shape`. Numbers are literal (-1 infers one dimension); a symbolic dim is
 * copied (0) when the input has the same dim at that index, else it becomes the -1.
 */
export function reshape(x: Value, shape: readonly SymDim[]): Value {
  const t = x.tracer;
  const onnxShape: number[] = [];
  const outShape: SymDim[] = [];
  let inferAt = -1;
  shape.forEach((d, i) => {
    if (typeof d === 'number' && d >= 0) {
      onnxShape.push(d);
      outShape.push(d);
    } else if (typeof d === 'string' && i < x.rank && sameDim(x.shape[i]!, d)) {
      onnxShape.push(0);
      outShape.push(d);
    } else {
      if (inferAt >= 0) throw new Error(`reshape of [${x.shape}] to [${shape}]: more than one dimension to infer`);
      inferAt = i;
      onnxShape.push(-1);
      outShape.push(d);
    }
  });
  if (inferAt >= 0 && outShape[inferAt] === -1) {
    const known = outShape.filter((_, i) => i !== inferAt);
    outShape[inferAt] = dimQuotient(dimProduct(x.shape), dimProduct(known));
  }
  const y = t.op('Reshape', [x, t.constant(onnxShape, [onnxShape.length], 'int64')], {}, { shape: outShape, kind: x.kind });
  if (x.kind === 'float') t.record([x], [y], ([g]) => [reshapeLike(g!, x)]);
  return y;
}

/** Reshape `g` to the shape of `like` (which may be symbolic). */
export function reshapeLike(g: Value, like: Value): Value {
  const t = g.tracer;
  const y = t.op('Reshape', [g, shapeOf(like)], {}, { shape: like.shape, kind: g.kind });
  if (g.kind === 'float') t.record([g], [y], ([gy]) => [reshapeLike(gy!, g)]);
  return y;
}

export function transpose(x: Value, perm: readonly number[]): Value {
  const t = x.tracer;
  const y = t.op('Transpose', [x], { perm: attr.ints([...perm]) }, { shape: perm.map((p) => x.shape[p]!), kind: x.kind });
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  if (x.kind === 'float') t.record([x], [y], ([g]) => [transpose(g!, inverse)]);
  return y;
}

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const t = x.tracer;
  const rank = x.rank + axes.length;
  const ax = axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
  const shape: SymDim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[k++]!);
  const y = t.op('Unsqueeze', [x, t.constant(ax, [ax.length], 'int64')], {}, { shape, kind: x.kind });
  if (x.kind === 'float') t.record([x], [y], ([g]) => [squeeze(g!, ax)]);
  return y;
}

export function squeeze(x: Value, axes: readonly number[]): Value {
  const t = x.tracer;
  const ax = axes.map((a) => normAxis(a, x.rank));
  const y = t.op('Squeeze', [x, t.constant(ax, [ax.length], 'int64')], {}, { shape: x.shape.filter((_, i) => !ax.includes(i)), kind: x.kind });
  if (x.kind === 'float') t.record([x], [y], ([g]) => [unsqueeze(g!, ax)]);
  return y;
}

/** x[..., start:end, ...] along one axis (static bounds). */
export function slice(x: Value, axis: number, start: number, end: number): Value {
  const t = x.tracer;
  const a = normAxis(axis, x.rank);
  const dim = x.shape[a]!;
  if (typeof dim !== 'number') throw new Error('slice needs a static dimension on the sliced axis');
  const s = Math.max(0, Math.min(dim, start < 0 ? start + dim : start));
  const e = Math.max(s, Math.min(dim, end < 0 ? end + dim : end));
  const shape = x.shape.map((d, i) => (i === a ? e - s : d));
  const y = t.op(
    'Slice',
    [x, t.constant([s], [1], 'int64'), t.constant([e], [1], 'int64'), t.constant([a], [1], 'int64')],
    {},
    { shape, kind: x.kind },
  );
  t.record([x], [y], ([g]) => {
    const pads = new Array<number>(2 * x.rank).fill(0);
    pads[a] = s;
    pads[x.rank + a] = dim - e;
    const gx = t.op('Pad', [g!, t.constant(pads, [pads.length], 'int64')], {}, { shape: x.shape });
    t.record([g!], [gx], ([gg]) => [slice(gg!, a, s, e)]);
    return [gx];
  });
  return y;
}

export function concat(xs: readonly Value[], axis: number): Value {
  const t = xs[0]!.tracer;
  const a = normAxis(axis, xs[0]!.rank);
  const sizes = xs.map((x) => x.shape[a]!);
  const shape = xs[0]!.shape.map((d, i) => (i === a ? sizes.reduce<SymDim>(addDims, 0) : d));
  const y = t.op('Concat', [...xs], { axis: attr.int(a) }, { shape, kind: xs[0]!.kind });
  t.record([...xs], [y], ([g]) => split(g!, a, sizes));
  return y;
}

function addDims(a: SymDim, b: SymDim): SymDim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  return a === 0 ? b : b === 0 ? a : `${a}+${b}`;
}

/** Split along `axis` into pieces of static `sizes`. */
export function split(x: Value, axis: number, sizes: readonly SymDim[]): Value[] {
  const t = x.tracer;
  const a = normAxis(axis, x.rank);
  if (!sizes.every((s) => typeof s === 'number')) throw new Error('split needs static sizes');
  const outs = t.emit(
    'Split',
    [x, t.constant(sizes as number[], [sizes.length], 'int64')],
    { axis: attr.int(a) },
    sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === a ? s : d)), kind: x.kind })),
  );
  t.record([x], outs, (gs) => [concat(gs.map((g, i) => g ?? t.zerosLike(outs[i]!)), a)]);
  return outs;
}
