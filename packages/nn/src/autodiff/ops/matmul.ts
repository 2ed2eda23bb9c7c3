/**
 * Matrix products and their adjoints (Giles 2008, "Extended collection of matrix
 * derivative results", sec. 2.2.2: C = AB gives dA = dC B^T, dB = A^T dC). 2-D products
 * use Gemm's transA/transB so no Transpose is materialized; batched products broadcast
 * their batch dimensions and sum gradients back over them.
 */
import { attr } from '@distillery/onnx';
import { broadcastShapes, type SymDim } from '../shape';
import type { NodeOptions, Value } from '../tracer';
import { sumToShape } from './reduce';
import { reshape, transpose } from './shape-ops';

export interface GemmOptions extends NodeOptions {
  transA?: boolean;
  transB?: boolean;
}

/** op(A) @ op(B) for 2-D A and B, op = optional transpose. */
export function gemm(a: Value, b: Value, opts: GemmOptions = {}): Value {
  const t = a.tracer;
  if (a.rank !== 2 || b.rank !== 2) throw new Error('gemm takes 2-D operands');
  const tA = opts.transA ?? false;
  const tB = opts.transB ?? false;
  const shape: SymDim[] = [tA ? a.shape[1]! : a.shape[0]!, tB ? b.shape[0]! : b.shape[1]!];
  const attrs = { ...(tA ? { transA: attr.int(1) } : {}), ...(tB ? { transB: attr.int(1) } : {}) };
  const y = tA || tB ? t.op('Gemm', [a, b], attrs, { shape }, opts) : t.op('MatMul', [a, b], {}, { shape }, opts);
  t.record([a, b], [y], ([g], needs) => {
    let da: Value | undefined;
    let db: Value | undefined;
    if (needs[0]) {
      if (!tA && !tB) da = gemm(g!, b, { transB: true });
      else if (!tA && tB) da = gemm(g!, b);
      else if (tA && !tB) da = gemm(b, g!, { transB: true });
      else da = gemm(b, g!, { transA: true, transB: true });
    }
    if (needs[1]) {
      if (!tA && !tB) db = gemm(a, g!, { transA: true });
      else if (!tA && tB) db = gemm(g!, a, { transA: true });
      else if (tA && !tB) db = gemm(a, g!);
      else db = gemm(g!, a, { transA: true, transB: true });
    }
    return [da, db];
  });
  return y;
}

function swapLast(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

/**
 * numpy.matmul semantics for rank >= 2. A batched input times a 2-D weight is computed
 * and differentiated as one [rows, K] @ [K, M] product.
 */
export function matmul(a: Value, b: Value, opts: NodeOptions = {}): Value {
  const t = a.tracer;
  if (a.rank < 2 || b.rank < 2) throw new Error('matmul takes operands of rank >= 2');
  if (a.rank === 2 && b.rank === 2) return gemm(a, b, opts);
  const K = a.shape[a.rank - 1]!;
  const M = b.shape[b.rank - 1]!;
  if (b.rank === 2) {
    // Flatten rows so both products of the backward pass are single GEMMs.
    const flat = gemm(reshape(a, [-1, K]), b, opts);
    return reshape(flat, [...a.shape.slice(0, -1), M]);
  }
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const y = t.op('MatMul', [a, b], {}, { shape: [...batch, a.shape[a.rank - 2]!, M] }, opts);
  t.record([a, b], [y], ([g], needs) => [
    needs[0] ? sumToShape(matmul(g!, swapLast(b)), a.shape) : undefined,
    needs[1] ? sumToShape(matmul(swapLast(a), g!), b.shape) : undefined,
  ]);
  return y;
}
