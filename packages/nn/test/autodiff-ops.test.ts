import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeModel } from '@distillery/onnx';
import { createPrng } from '../src/decoder/prng';
import {
  Tracer, add, causalAttention, checkOpGradients, concat, crossEntropy, div, embedding, exp, gemm, klDivergence, matmul,
  mse, mul, neg, reciprocal, reduceMean, reduceSum, reshape, rmsNorm, rotary, rotaryTables, silu, slice, softmax, split,
  sqrt, squeeze, sub, swiglu, targetMask, transpose, unsqueeze, where, type GradCheckInput, type LossBuilder, type Value,
} from '../src/autodiff/index';

const TOL = 1e-3;

function randn(n: number, seed: number, scale = 1, offset = 0): number[] {
  const r = createPrng(seed);
  return Array.from({ length: n }, () => offset + scale * r.normal());
}

let seed = 100;
/** A float input of random values. */
function f(name: string, shape: number[], opts: { scale?: number; offset?: number; check?: boolean } = {}): GradCheckInput {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, shape, data: randn(n, seed++, opts.scale ?? 1, opts.offset ?? 0), check: opts.check };
}

/** loss = sum(y * R) with a fixed random R, so every output element gets its own weight. */
function weighted(y: Value, t: Tracer): Value {
  const n = y.shape.reduce<number>((a, b) => a * (b as number), 1);
  const r = t.constant(randn(n, 7), y.shape as number[]);
  return reduceSum(mul(y, r));
}

async function expectGradOk(build: (t: Tracer, v: (n: string) => Value) => Value, inputs: GradCheckInput[]): Promise<void> {
  const loss: LossBuilder = (t, m) => weighted(build(t, (n) => m.get(n)!), t);
  const r = await checkOpGradients(loss, inputs);
  for (const p of r.perInput) expect(p.relError, `${p.name}`).toBeLessThan(TOL);
  for (const d of r.directional) expect(d).toBeLessThan(TOL);
}

async function run(t: Tracer, outputs: Value[], feeds: Record<string, ort.Tensor>): Promise<Float32Array[]> {
  outputs.forEach((o, i) => t.output(o, `out${i}`));
  const s = await ort.InferenceSession.create(serializeModel(t.toModel()).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const out = await s.run(feeds);
  await s.release();
  return outputs.map((_, i) => out[`out${i}`]!.data as Float32Array);
}

describe('autodiff op gradients vs float64 central differences', () => {
  it('Add/Sub/Mul/Div with broadcasting', async () => {
    await expectGradOk((_, v) => add(v('a'), v('b')), [f('a', [2, 3, 4]), f('b', [3, 1])]);
    await expectGradOk((_, v) => sub(v('a'), v('b')), [f('a', [3, 4]), f('b', [4])]);
    await expectGradOk((_, v) => mul(v('a'), v('b')), [f('a', [2, 3]), f('b', [2, 1])]);
    await expectGradOk((_, v) => div(v('a'), v('b')), [f('a', [2, 3]), f('b', [3], { scale: 0.2, offset: 1.5 })]);
  });

  it('Neg, Sqrt, Reciprocal, Exp, SiLU, SwiGLU', async () => {
    await expectGradOk((_, v) => neg(v('x')), [f('x', [5])]);
    await expectGradOk((_, v) => sqrt(v('x')), [f('x', [5], { scale: 0.3, offset: 2 })]);
    await expectGradOk((_, v) => reciprocal(v('x')), [f('x', [5], { scale: 0.3, offset: 2 })]);
    await expectGradOk((_, v) => exp(v('x')), [f('x', [5])]);
    await expectGradOk((_, v) => silu(v('x')), [f('x', [3, 4], { scale: 2 })]);
    await expectGradOk((_, v) => swiglu(v('g'), v('u')), [f('g', [3, 4], { scale: 2 }), f('u', [3, 4])]);
  });

  it('MatMul 2-D, Gemm with transposes, batched and broadcast batches', async () => {
    await expectGradOk((_, v) => matmul(v('a'), v('b')), [f('a', [3, 4]), f('b', [4, 5])]);
    await expectGradOk((_, v) => gemm(v('a'), v('b'), { transB: true }), [f('a', [3, 4]), f('b', [5, 4])]);
    await expectGradOk((_, v) => gemm(v('a'), v('b'), { transA: true }), [f('a', [4, 3]), f('b', [4, 5])]);
    await expectGradOk((_, v) => gemm(v('a'), v('b'), { transA: true, transB: true }), [f('a', [4, 3]), f('b', [5, 4])]);
    await expectGradOk((_, v) => matmul(v('a'), v('b')), [f('a', [2, 3, 4]), f('b', [2, 4, 5])]);
    await expectGradOk((_, v) => matmul(v('a'), v('b')), [f('a', [2, 1, 3, 4]), f('b', [1, 2, 4, 5])]);
    await expectGradOk((_, v) => matmul(v('a'), v('b')), [f('a', [2, 3, 4]), f('b', [4, 5])]);
  });

  it('Reshape, Transpose, Slice, Concat, Split, Squeeze/Unsqueeze', async () => {
    await expectGradOk((_, v) => reshape(v('x'), [3, -1]), [f('x', [2, 3, 2])]);
    await expectGradOk((_, v) => transpose(v('x'), [2, 0, 1]), [f('x', [2, 3, 4])]);
    await expectGradOk((_, v) => slice(v('x'), 1, 1, 3), [f('x', [2, 4])]);
    await expectGradOk((_, v) => concat([v('a'), v('b'), v('a')], 1), [f('a', [2, 3]), f('b', [2, 2])]);
    await expectGradOk((_, v) => { const [a, b] = split(v('x'), -1, [1, 3]); return mul(a!, slice(b!, -1, 1, 2)); }, [f('x', [3, 4])]);
    await expectGradOk((_, v) => squeeze(unsqueeze(v('x'), [0, 2]), [0]), [f('x', [2, 3])]);
  });

  it('ReduceSum and ReduceMean, with and without keepdims', async () => {
    await expectGradOk((_, v) => reduceSum(v('x'), [1], true), [f('x', [2, 3, 4])]);
    await expectGradOk((_, v) => reduceMean(v('x'), [0, 2]), [f('x', [2, 3, 4])]);
    await expectGradOk((_, v) => reduceMean(v('x'), [-1], true), [f('x', [3, 5])]);
  });

  it('Gather embedding with repeated ids (ScatterND add)', async () => {
    await expectGradOk((t, v) => embedding(v('table'), v('ids')), [
      f('table', [5, 3]),
      { name: 'ids', shape: [2, 3], data: [1, 4, 1, 0, 1, 4], kind: 'int64' },
    ]);
  });

  it('Where masking, Softmax, RMSNorm', async () => {
    await expectGradOk((t, v) => where(t.constant([1, 0, 1, 1, 0, 1], [2, 3], 'bool'), v('a'), v('b')), [f('a', [2, 3]), f('b', [3])]);
    await expectGradOk((_, v) => softmax(v('x'), -1), [f('x', [3, 5], { scale: 2 })]);
    await expectGradOk((_, v) => softmax(v('x'), 0), [f('x', [3, 5], { scale: 2 })]);
    await expectGradOk((_, v) => rmsNorm(v('x'), v('w'), 1e-5), [f('x', [4, 6]), f('w', [6], { scale: 0.3, offset: 1 })]);
  });

  it('rotary embedding and causal GQA attention', async () => {
    const rope = rotaryTables(3, 4, 10000);
    await expectGradOk((t, v) => rotary(v('x'), t.constant(rope.cos, [3, 4]), t.constant(rope.sin, [3, 4])), [f('x', [1, 2, 3, 4])]);
    await expectGradOk((_, v) => causalAttention(v('q'), v('k'), v('v')), [f('q', [2, 4, 3, 4]), f('k', [2, 2, 3, 4]), f('v', [2, 2, 3, 4])]);
  });

  it('cross-entropy with ignored targets, forward and reverse KL with temperature, MSE', async () => {
    const targets: GradCheckInput = { name: 'targets', shape: [5], data: [2, -1, 0, 6, 3], kind: 'int64' };
    const direct: LossBuilder = (_, m) => crossEntropy(m.get('logits')!, m.get('targets')!);
    let r = await checkOpGradients(direct, [f('logits', [5, 7], { scale: 2 }), targets]);
    expect(r.maxRelError).toBeLessThan(TOL);
    for (const direction of ['forward', 'reverse'] as const) {
      const kl: LossBuilder = (_, m) => klDivergence(m.get('s')!, m.get('t')!, targetMask(m.get('targets')!), { temperature: 2, direction });
      r = await checkOpGradients(kl, [f('s', [5, 7], { scale: 2 }), f('t', [5, 7], { scale: 2, check: false }), targets]);
      expect(r.maxRelError, direction).toBeLessThan(TOL);
    }
    await expectGradOk((_, v) => mse(v('a'), v('b')), [f('a', [3, 4]), f('b', [3, 4])]);
  });
});
