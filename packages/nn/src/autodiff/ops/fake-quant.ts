/**
 * Fake quantization of a weight W [in, out] to b-bit symmetric integers with one scale per
 * output channel (column), or per group of `groupSize` consecutive input rows within a
 * column: s = clipRatio * max|W| / qmax over the channel or group, y = s * clamp(round(W / s),
 * -qmax - 1, qmax), qmax = 2^(b-1) - 1. The backward pass is the straight-through estimator
 * (Bengio et al. 2013, "Estimating or Propagating Gradients Through Stochastic Neurons",
 * sec. 3; as used for QAT by Jacob et al. 2018, sec. 3): dW = dy inside the clipping range,
 * i.e. where the clamp leaves round(W / s) unchanged (lo - 0.5 <= W / s < hi + 0.5 with
 * round half to even, ONNX Round's rule), and 0 outside. Taking the rounding bucket's edge
 * rather than hi itself keeps the channel's largest weight, whose ratio is hi up to float
 * round-off, trainable. The scale is treated as a constant.
 */
import { attr } from '@distillery/onnx';
import type { Value } from '../tracer';

export interface FakeQuantOptions {
  /** 2..8 */
  bits: number;
  /** Rows of W per scale within each column; omitted = one scale per column. Must divide the rows. */
  groupSize?: number;
  /** Scale = clipRatio * max|W| / qmax (default 1: nothing is clipped). */
  clipRatio?: number;
}

export function fakeQuantRange(bits: number): { lo: number; hi: number } {
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) throw new Error(`fake quantization needs 2..8 bits, got ${bits}`);
  const hi = 2 ** (bits - 1) - 1;
  return { lo: -hi - 1, hi };
}

export function fakeQuantize(w: Value, opts: FakeQuantOptions): Value {
  const t = w.tracer;
  if (w.rank !== 2 || typeof w.shape[0] !== 'number' || typeof w.shape[1] !== 'number') throw new Error('fakeQuantize takes a static 2-D weight [in, out]');
  const [K, M] = w.shape as [number, number];
  const { lo, hi } = fakeQuantRange(opts.bits);
  const g = opts.groupSize ?? K;
  if (!Number.isInteger(g) || g < 1 || K % g !== 0) throw new Error(`fakeQuantize: groupSize ${opts.groupSize} does not divide the ${K} input rows`);
  const clip = opts.clipRatio ?? 1;
  if (!(clip > 0 && clip <= 1)) throw new Error(`fakeQuantize: clipRatio must be in (0, 1], got ${clip}`);
  const grouped = [K / g, g, M];
  const wg = t.op('Reshape', [w, t.constant(grouped, [3], 'int64')], {}, { shape: grouped });
  const absMax = t.op('ReduceMax', [t.op('Abs', [wg], {}, { shape: grouped })], { axes: attr.ints([1]), keepdims: attr.int(1) }, { shape: [K / g, 1, M] });
  // An all-zero group gets a tiny scale, so 0 / s = 0 instead of NaN.
  const scale = t.op('Max', [t.op('Mul', [absMax, t.scalar(clip / hi)], {}, { shape: [K / g, 1, M] }), t.scalar(1e-30)], {}, { shape: [K / g, 1, M] });
  const ratio = t.op('Div', [wg, scale], {}, { shape: grouped });
  const q = t.op('Clip', [t.op('Round', [ratio], {}, { shape: grouped }), t.scalar(lo), t.scalar(hi)], {}, { shape: grouped });
  const yg = t.op('Mul', [q, scale], {}, { shape: grouped });
  const y = t.op('Reshape', [yg, t.constant([K, M], [2], 'int64')], {}, { shape: [K, M] });
  t.record([w], [y], ([gy]) => {
    const inside = t.op(
      'And',
      [
        t.op('GreaterOrEqual', [ratio, t.scalar(lo - 0.5)], {}, { shape: grouped, kind: 'bool' }),
        t.op('Less', [ratio, t.scalar(hi + 0.5)], {}, { shape: grouped, kind: 'bool' }),
      ],
      {},
      { shape: grouped, kind: 'bool' },
    );
    const insideFlat = t.op('Reshape', [inside, t.constant([K, M], [2], 'int64')], {}, { shape: [K, M], kind: 'bool' });
    return [t.op('Where', [insideFlat, gy!, t.scalar(0)], {}, { shape: [K, M] })];
  });
  return y;
}
