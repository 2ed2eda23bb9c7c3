/**
 * Mean token cross-entropy -log softmax(z)[target] over targets != -1 (ignored positions
 * count neither in the sum nor in the mean). Fused backward: dz = (softmax(z) -
 * onehot(target)) * valid / count, built as exp(LogSoftmax) with -1 scatter-added at the
 * targets (ScatterElements reduction='add'), which avoids a [N, V] one-hot.
 */
import { attr } from '@distillery/onnx';
import type { Tracer, Value } from '../tracer';

export interface TargetMask {
  /** int64 [N, 1], targets with -1 replaced by 0 (safe to gather with). */
  index: Value;
  /** float [N, 1], 1 where the target counts. */
  valid: Value;
  /** float scalar, max(number of valid targets, 1). */
  count: Value;
}

/** targets int64 [N] -> what every token-mean loss needs. */
export function targetMask(targets: Value): TargetMask {
  const t = targets.tracer;
  const N = targets.shape[0]!;
  const ignored = t.op('Equal', [targets, t.scalar(-1, 'int64')], {}, { shape: [N], kind: 'bool' });
  const keep = t.op('Not', [ignored], {}, { shape: [N], kind: 'bool' });
  const safe = t.op('Where', [keep, targets, t.scalar(0, 'int64')], {}, { shape: [N], kind: 'int64' });
  const axis1 = t.constant([1], [1], 'int64');
  const index = t.op('Unsqueeze', [safe, axis1], {}, { shape: [N, 1], kind: 'int64' });
  const validVec = t.op('Cast', [keep], { to: attr.int(t.dtype === 'float64' ? 11 : 1) }, { shape: [N] });
  const valid = t.op('Unsqueeze', [validVec, axis1], {}, { shape: [N, 1] });
  const n = t.op('ReduceSum', [validVec], { keepdims: attr.int(0) }, { shape: [] });
  const count = t.op('Max', [n, t.scalar(1)], {}, { shape: [] });
  return { index, valid, count };
}

function logSoftmax(t: Tracer, z: Value): Value {
  return t.op('LogSoftmax', [z], { axis: attr.int(-1) }, { shape: z.shape });
}

/** logits [N, V], targets int64 [N] (-1 = ignore) -> scalar mean cross-entropy. */
export function crossEntropy(logits: Value, targets: Value, mask: TargetMask = targetMask(targets)): Value {
  const t = logits.tracer;
  const N = logits.shape[0]!;
  const ls = logSoftmax(t, logits);
  const picked = t.op('GatherElements', [ls, mask.index], { axis: attr.int(1) }, { shape: [N, 1] });
  const total = t.op('ReduceSum', [t.op('Mul', [picked, mask.valid], {}, { shape: [N, 1] })], { keepdims: attr.int(0) }, { shape: [] });
  const loss = t.op('Neg', [t.op('Div', [total, mask.count], {}, { shape: [] })], {}, { shape: [] });
  t.record([logits, targets], [loss], ([g]) => {
    const p = t.op('Exp', [ls], {}, { shape: logits.shape });
    const minusOne = t.op('Neg', [mask.valid], {}, { shape: [N, 1] });
    const d = t.op('ScatterElements', [p, mask.index, minusOne], { axis: attr.int(1), reduction: attr.string('add') }, { shape: logits.shape });
    const w = t.op('Mul', [mask.valid, t.op('Div', [g!, mask.count], {}, { shape: [] })], {}, { shape: [N, 1] });
    return [t.op('Mul', [d, w], {}, { shape: logits.shape }), undefined];
  });
  return loss;
}
