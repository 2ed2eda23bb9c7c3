// The trainer driven by an ORT session, as the autodiff's sessions will drive it: a GraphBuilder
// graph computes the mean-squared-error loss of a linear model and its analytic gradient,
// dL/dw = 2 mean_n(r_n x_n), dL/db = 2 mean_n(r_n) with r = x w + b - y.
import * as ort from 'onnxruntime-node';
import { GraphBuilder, serializeModel } from '@distillery/onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, seededBatches, train, warmupCosine, type GradientSource, type ParamMap } from '../src/train/index';

const D = 5;
interface Rows { x: Float32Array; y: Float32Array; n: number }

function lossAndGradientGraph(): Uint8Array {
  const g = new GraphBuilder('linear_mse_train');
  const w = g.input('w', 'float32', [D]);
  const b = g.input('b', 'float32', [1]);
  const x = g.input('x', 'float32', ['batch', D]);
  const y = g.input('y', 'float32', ['batch']);
  const pred = g.op('Add', [g.op('MatMul', [x, w]), b]);
  const r = g.op('Sub', [pred, y]);
  const loss = g.op('ReduceMean', [g.op('Mul', [r, r])], { keepdims: { type: 'int', value: 0 } });
  const two = g.constF32(2);
  const rCol = g.op('Unsqueeze', [r, g.constI64([1])]);
  const meanRx = g.op('ReduceMean', [g.op('Mul', [x, rCol])], { axes: { type: 'ints', value: [0] }, keepdims: { type: 'int', value: 0 } });
  const gw = g.op('Mul', [meanRx, two]);
  const gb = g.op('Mul', [g.op('ReduceMean', [r], { keepdims: { type: 'int', value: 1 } }), two]);
  g.output(loss, 'float32', [], 'loss');
  g.output(gw, 'float32', [D], 'grad.w');
  g.output(gb, 'float32', [1], 'grad.b');
  return serializeModel(g.toModel()).model;
}

/** The shape `createTrainingSession(graph)` will have: parameters and batch in, loss and gradients out. */
async function ortSource(): Promise<GradientSource<Rows> & { release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(lossAndGradientGraph(), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return {
    async step(params: ParamMap, batch: Rows) {
      const out = await session.run({
        w: new ort.Tensor('float32', params.get('w')!, [D]),
        b: new ort.Tensor('float32', params.get('b')!, [1]),
        x: new ort.Tensor('float32', batch.x, [batch.n, D]),
        y: new ort.Tensor('float32', batch.y, [batch.n]),
      });
      return {
        loss: (out.loss!.data as Float32Array)[0]!,
        grads: new Map([['w', out['grad.w']!.data as Float32Array], ['b', out['grad.b']!.data as Float32Array]]),
      };
    },
    release: () => session.release(),
  };
}

/** Float64 reference of the same loss and gradient. */
function reference(params: ParamMap, batch: Rows): { loss: number; gw: number[]; gb: number } {
  const w = params.get('w')!;
  const gw = new Array<number>(D).fill(0);
  let gb = 0;
  let loss = 0;
  for (let n = 0; n < batch.n; n++) {
    let r = params.get('b')![0]! - batch.y[n]!;
    for (let d = 0; d < D; d++) r += w[d]! * batch.x[n * D + d]!;
    loss += r * r / batch.n;
    for (let d = 0; d < D; d++) gw[d]! += (2 * r * batch.x[n * D + d]!) / batch.n;
    gb += (2 * r) / batch.n;
  }
  return { loss, gw, gb };
}

const wTrue = [0.5, -1, 2, 0, 1.5];
function batchesFor(seed: number) {
  return seededBatches(seed, (rng) => {
    const n = 16;
    const x = Float32Array.from({ length: n * D }, () => rng.nextFloat() * 2 - 1);
    const y = Float32Array.from({ length: n }, (_, i) => wTrue.reduce((s, w, d) => s + w * x[i * D + d]!, -0.25));
    return { x, y, n };
  });
}

let source: Awaited<ReturnType<typeof ortSource>>;
beforeAll(async () => {
  source = await ortSource();
});
afterAll(async () => {
  await source.release();
});

describe('ORT gradient source', () => {
  it('computes the same loss and gradient as the float64 reference', async () => {
    const r = createRng(3);
    const params: ParamMap = new Map([['w', Float32Array.from({ length: D }, () => r.nextFloat())], ['b', Float32Array.from([0.3])]]);
    const batch = batchesFor(8).next();
    const got = await source.step(params, batch);
    const ref = reference(params, batch);
    expect(got.loss).toBeCloseTo(ref.loss, 5);
    for (let d = 0; d < D; d++) expect(got.grads.get('w')![d]).toBeCloseTo(ref.gw[d]!, 5);
    expect(got.grads.get('b')![0]).toBeCloseTo(ref.gb, 5);
  });

  it('trains the linear model to the generating weights, reproducibly', async () => {
    const opts = () => ({
      source,
      params: new Map([['w', new Float32Array(D)], ['b', new Float32Array(1)]]) as ParamMap,
      batches: batchesFor(1),
      steps: 150,
      optimizer: { weightDecay: 0, noDecay: () => true },
      schedule: warmupCosine({ peakLr: 0.1, warmupSteps: 10, totalSteps: 150, minLr: 0.001 }),
      clip: 10,
      accumulation: 2,
    });
    const a = await train(opts());
    const b = await train(opts());
    expect(a.lossCurve.map((p) => p.loss)).toEqual(b.lossCurve.map((p) => p.loss));
    expect(a.lossCurve.at(-1)!.loss).toBeLessThan(1e-3 * a.lossCurve[0]!.loss);
    const w = a.params.get('w')!;
    for (let d = 0; d < D; d++) expect(w[d]).toBeCloseTo(wTrue[d]!, 1);
    expect(a.params.get('b')![0]).toBeCloseTo(-0.25, 1);
  });
});
