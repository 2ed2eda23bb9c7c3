/** A hand-built 2-layer MLP (x @ W1 -> Relu -> @ W2) with Optimum-style node names, for tests. */
import { GraphBuilder, float32Tensor, makeTensor, type Model } from '@distillery/onnx';

/** Deterministic uniform values in [-a, a] (mulberry32), so tests need no fixtures on disk. */
export function seededUniform(n: number, seed: number, a = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * u - 1) * a;
  }
  return out;
}

export interface Mlp {
  model: Model;
  w1: Float32Array;
  w2: Float32Array;
}

export function buildMlp(dIn: number, dHidden: number, dOut: number, seed = 1, opts: { fp16W2?: Uint16Array } = {}): Mlp {
  const b = new GraphBuilder('mlp');
  const w1 = seededUniform(dIn * dHidden, seed, 0.5);
  const w2 = seededUniform(dHidden * dOut, seed + 1, 0.5);
  const x = b.input('x', 'float32', ['batch', dIn]);
  b.addInitializer(float32Tensor('layers.0.up.weight', [dIn, dHidden], w1));
  const h = b.op('MatMul', [x, 'layers.0.up.weight'], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
  const r = b.op('Relu', [h]);
  let w2Value = 'lm_head.weight';
  if (opts.fp16W2) {
    b.addInitializer(makeTensor('lm_head.weight', 'float16', [dHidden, dOut], opts.fp16W2));
    w2Value = b.op('Cast', ['lm_head.weight'], { to: { type: 'int', value: 1 } });
  } else {
    b.addInitializer(float32Tensor('lm_head.weight', [dHidden, dOut], w2));
  }
  const y = b.op('MatMul', [r, w2Value], {}, { name: '/lm_head/MatMul' });
  b.output(h, 'float32', ['batch', dHidden], 'hidden');
  b.output(y, 'float32', ['batch', dOut], 'y');
  const model = b.toModel();
  // Optimum exports name the MatMul node itself `/lm_head/MatMul`; GraphBuilder appends a suffix.
  for (const n of model.graph.nodes) n.name = n.name.replace(/\/node$/, '');
  return { model, w1, w2 };
}

/** Obviously-correct float64 reference of a [n, k] x [k, m] product, for comparing ORT outputs. */
export function matmulF64(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t]! * b[t * m + j]!;
    out[i * m + j] = s;
  }
  return out;
}
