/**
 * Knowledge-distillation divergence between temperature-softened distributions
 * p_s = softmax(z_s / T), p_t = softmax(z_t / T), scaled by T^2 (Hinton et al. 2015,
 * "Distilling the Knowledge in a Neural Network", sec. 2) and averaged over tokens whose
 * target is not -1.
 *   forward: KL(p_t || p_s); d/dz_s = T (p_s - p_t) per token.
 *   reverse: KL(p_s || p_t) (Gu et al. 2023, "MiniLLM", eq. 1);
 *            d/dz_s = T p_s ((log p_s - log p_t) - KL) per token.
 * The teacher logits get no gradient.
 */
import { attr } from '@distillery/onnx';
import type { Value } from '../tracer';
import type { TargetMask } from './cross-entropy';

export type KlDirection = 'forward' | 'reverse';

export function klDivergence(
  student: Value,
  teacher: Value,
  mask: TargetMask,
  opts: { temperature: number; direction: KlDirection },
): Value {
  const t = student.tracer;
  const T = opts.temperature;
  const shape = student.shape;
  const N = shape[0]!;
  const rows = [N, 1];
  const last = t.constant([-1], [1], 'int64');
  const soften = (z: Value): Value =>
    t.op('LogSoftmax', [T === 1 ? z : t.op('Mul', [z, t.scalar(1 / T)], {}, { shape })], { axis: attr.int(-1) }, { shape });
  const ls = soften(student);
  const lt = soften(teacher);
  // The distribution the expectation is taken under, and the log ratio inside it.
  const [lp, lq] = opts.direction === 'forward' ? [lt, ls] : [ls, lt];
  const p = t.op('Exp', [lp], {}, { shape });
  const ratio = t.op('Sub', [lp, lq], {}, { shape });
  const klRow = t.op('ReduceSum', [t.op('Mul', [p, ratio], {}, { shape }), last], { keepdims: attr.int(1) }, { shape: rows });
  const masked = t.op('ReduceSum', [t.op('Mul', [klRow, mask.valid], {}, { shape: rows })], { keepdims: attr.int(0) }, { shape: [] });
  const loss = t.op('Mul', [t.op('Div', [masked, mask.count], {}, { shape: [] }), t.scalar(T * T)], {}, { shape: [] });
  t.record([student, teacher], [loss], ([g], needs) => {
    if (!needs[0]) return [undefined, undefined];
    const w = t.op('Mul', [mask.valid, t.op('Div', [t.op('Mul', [g!, t.scalar(T)], {}, { shape: [] }), mask.count], {}, { shape: [] })], {}, { shape: rows });
    let d: Value;
    if (opts.direction === 'forward') {
      const ps = t.op('Exp', [ls], {}, { shape });
      d = t.op('Sub', [ps, p], {}, { shape });
    } else {
      d = t.op('Mul', [p, t.op('Sub', [ratio, klRow], {}, { shape })], {}, { shape });
    }
    return [t.op('Mul', [d, w], {}, { shape }), undefined];
  });
  return loss;
}
