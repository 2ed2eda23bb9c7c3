// The training loop on a least-squares model whose gradient is derived by hand:
// L = mean_n (x_n . w + b - y_n)^2,  dL/dw = (2/N) sum_n r_n x_n,  dL/db = (2/N) sum_n r_n.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accumulateGradients,
  createRng,
  seededBatches,
  train,
  warmupCosine,
  type GradientSource,
  type ParamMap,
  type StepContext,
  type TrainOptions,
} from '../src/train/index';

const D = 6;
const N_DATA = 64;
interface Rows { x: Float32Array; y: Float32Array; n: number }

// A fixed dataset: y = x . wTrue + 0.5 + noise.
const data: Rows = (() => {
  const r = createRng(99);
  const wTrue = [1, -2, 0.5, 3, 0, -1];
  const x = Float32Array.from({ length: N_DATA * D }, () => r.nextFloat() * 2 - 1);
  const y = Float32Array.from({ length: N_DATA }, (_, n) => wTrue.reduce((s, w, d) => s + w * x[n * D + d]!, 0.5) + (r.nextFloat() - 0.5) * 0.1);
  return { x, y, n: N_DATA };
})();

function rows(indices: number[]): Rows {
  const x = new Float32Array(indices.length * D);
  indices.forEach((i, k) => x.set(data.x.subarray(i * D, i * D + D), k * D));
  return { x, y: Float32Array.from(indices.map((i) => data.y[i]!)), n: indices.length };
}

/** With `dropout`, features are zeroed from the step seed: exercises the trainer's RNG in resumes. */
function leastSquares(opts: { dropout?: boolean } = {}): GradientSource<Rows> & { calls: number } {
  const src = {
    calls: 0,
    async step(params: ParamMap, batch: Rows, ctx?: StepContext) {
      src.calls++;
      const w = params.get('w')!;
      const b = params.get('b')![0]!;
      const keep = Float64Array.from({ length: D }, () => 1);
      if (opts.dropout) {
        const r = createRng(ctx!.seed);
        for (let d = 0; d < D; d++) keep[d] = r.nextFloat() < 0.25 ? 0 : 1;
      }
      const gw = new Float64Array(D);
      let gb = 0;
      let loss = 0;
      for (let n = 0; n < batch.n; n++) {
        let pred = b;
        for (let d = 0; d < D; d++) pred += w[d]! * keep[d]! * batch.x[n * D + d]!;
        const r = pred - batch.y[n]!;
        loss += r * r;
        for (let d = 0; d < D; d++) gw[d] += (2 * r * keep[d]! * batch.x[n * D + d]!) / batch.n;
        gb += (2 * r) / batch.n;
      }
      return { loss: loss / batch.n, grads: new Map([['w', Float32Array.from(gw)], ['b', Float32Array.from([gb])]]) };
    },
  };
  return src;
}

function initParams(): ParamMap {
  return new Map([['w', Float32Array.from([0.1, 0.2, -0.3, 0.4, 0.5, -0.6])], ['b', Float32Array.from([0])]]);
}

const rowBatches = (seed: number, size = 8) => seededBatches(seed, (rng) => rows(Array.from({ length: size }, () => rng.nextInt(N_DATA))));

function baseOptions(over: Partial<TrainOptions<Rows>> = {}): TrainOptions<Rows> {
  return {
    source: leastSquares(),
    params: initParams(),
    batches: rowBatches(1),
    steps: 30,
    optimizer: { weightDecay: 0.01 },
    schedule: warmupCosine({ peakLr: 0.1, warmupSteps: 5, totalSteps: 30, minLr: 0.01 }),
    clip: 5,
    ...over,
  };
}

function bits(m: ParamMap): string {
  return [...m].map(([k, a]) => `${k}:${Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')}`).join('|');
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('gradient source (reference model)', () => {
  it('hand-derived gradient matches central finite differences', async () => {
    const src = leastSquares();
    const p = initParams();
    const batch = rows([0, 5, 9, 33]);
    const { grads } = await src.step(p, batch);
    const lossAt = async (name: string, i: number, delta: number) => {
      const q = new Map([...p].map(([k, v]) => [k, Float32Array.from(v)]));
      q.get(name)![i]! += delta;
      return (await src.step(q, batch)).loss;
    };
    for (const [name, i] of [['w', 0], ['w', 3], ['b', 0]] as const) {
      const h = 1e-2; // loss is quadratic: central differences are exact up to float32 rounding of p
      const fd = ((await lossAt(name, i, h)) - (await lossAt(name, i, -h))) / (2 * h);
      expect(grads.get(name)![i]).toBeCloseTo(fd, 3);
    }
  });
});

describe('train', () => {
  it('reduces the loss and gives the same curve and weights for the same seed', async () => {
    const a = await train(baseOptions());
    const b = await train(baseOptions());
    expect(a.lossCurve.length).toBe(30);
    expect(a.lossCurve.map((p) => p.loss)).toEqual(b.lossCurve.map((p) => p.loss));
    expect(bits(a.params)).toBe(bits(b.params));
    const first = a.lossCurve.slice(0, 3).reduce((s, p) => s + p.loss, 0);
    const last = a.lossCurve.slice(-3).reduce((s, p) => s + p.loss, 0);
    expect(last).toBeLessThan(first * 0.2);
    expect(a.lossCurve[0]!.lr).toBeCloseTo(0.02, 12);
    expect(a.lossCurve[4]!.lr).toBeCloseTo(0.1, 12);
    const c = await train(baseOptions({ batches: rowBatches(2) }));
    expect(c.lossCurve.map((p) => p.loss)).not.toEqual(a.lossCurve.map((p) => p.loss));
  });

  it('does not modify the caller\'s parameters', async () => {
    const params = initParams();
    const before = bits(params);
    await train(baseOptions({ params, steps: 3 }));
    expect(bits(params)).toBe(before);
  });

  it('accumulated micro-batch gradients equal the full-batch gradient of the mean loss', async () => {
    const src = leastSquares();
    const p = initParams();
    const idx = Array.from({ length: 12 }, (_, i) => (i * 7) % N_DATA);
    const full = await src.step(p, rows(idx));
    const acc = await accumulateGradients(src, p, [rows(idx.slice(0, 4)), rows(idx.slice(4, 8)), rows(idx.slice(8))]);
    expect(acc.loss).toBeCloseTo(full.loss, 5);
    for (const name of ['w', 'b']) {
      const f = full.grads.get(name)!;
      const g = acc.grads.get(name)!;
      for (let i = 0; i < f.length; i++) expect(g[i]).toBeCloseTo(f[i]!, 5);
    }
    // In the loop: 3 micro-batches of 4 track one batch of 12 drawn from the same rows.
    const fixed = (size: number) => {
      let k = 0;
      return seededBatches(0, () => rows(idx.slice((k++ * size) % 12, ((k - 1) * size) % 12 + size)));
    };
    const big = await train(baseOptions({ steps: 5, batches: fixed(12), clip: undefined }));
    const small = await train(baseOptions({ steps: 5, batches: fixed(4), accumulation: 3, clip: undefined }));
    for (let s = 0; s < 5; s++) expect(small.lossCurve[s]!.loss).toBeCloseTo(big.lossCurve[s]!.loss, 4);
    for (let i = 0; i < D; i++) expect(small.params.get('w')![i]).toBeCloseTo(big.params.get('w')![i]!, 4);
  });

  it('never updates frozen parameters', async () => {
    const src = leastSquares();
    const r = await train(baseOptions({ source: src, frozen: ['b'], params: new Map([['w', new Float32Array(D)], ['b', Float32Array.from([0.25])]]) }));
    expect(r.params.get('b')![0]).toBe(0.25);
    expect(r.optimizer.state().m.has('b')).toBe(false);
    expect(r.params.get('w')![0]).not.toBe(0);
    const fn = await train(baseOptions({ frozen: (n) => n === 'w', steps: 3 }));
    expect(bits(new Map([['w', fn.params.get('w')!]]))).toBe(bits(new Map([['w', initParams().get('w')!]])));
  });

  it('keeps masked weights exactly zero, with weight decay and clipping on', async () => {
    const mask = Uint8Array.from([1, 0, 1, 0, 1, 1]);
    const inner = leastSquares();
    const seen: number[] = [];
    // The source must see the masked model from the very first step, not only after an update.
    const spy: GradientSource<Rows> = { step: (p, b, c) => (seen.push(p.get('w')![1]!, p.get('w')![3]!), inner.step(p, b, c)) };
    const r = await train(baseOptions({ source: spy, masks: new Map([['w', mask]]), optimizer: { weightDecay: 0.5 }, clip: 0.5 }));
    expect(seen.length).toBe(60);
    expect(seen.every((v) => v === 0)).toBe(true);
    const w = r.params.get('w')!;
    expect(Object.is(w[1], 0) || Object.is(w[1], -0)).toBe(true);
    expect(w[1]).toBe(0);
    expect(w[3]).toBe(0);
    expect(w[0]).not.toBe(0.1);
    expect(r.lossCurve.every((p) => p.gradNorm >= 0)).toBe(true);
    await expect(train(baseOptions({ masks: new Map([['w', new Uint8Array(3)]]) }))).rejects.toThrow(/3 elements/);
    await expect(train(baseOptions({ masks: new Map([['w', mask]]), frozen: ['w'] }))).rejects.toThrow(/both frozen and masked/);
  });

  it('evaluates every evalEvery steps and at the end, and reports progress', async () => {
    const progress: number[] = [];
    const r = await train(
      baseOptions({
        steps: 7,
        evalEvery: 3,
        evaluate: async (params, step) => ({ w0: params.get('w')![0]!, step }),
        onProgress: (step, total, loss, lr) => {
          expect(total).toBe(7);
          expect(Number.isFinite(loss) && lr > 0).toBe(true);
          progress.push(step);
        },
      }),
    );
    expect(r.evals.map((e) => e.step)).toEqual([3, 6, 7]);
    expect(r.evals[2]!.metrics.w0).toBe(r.params.get('w')![0]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops between steps on abort and resumes from the checkpoint bitwise', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'train-'));
    dirs.push(dir);
    const opts = (over: Partial<TrainOptions<Rows>>) =>
      baseOptions({ source: leastSquares({ dropout: true }), batches: rowBatches(4), seed: 17, accumulation: 2, evalEvery: 4, evaluate: (p) => ({ b: p.get('b')![0]! }), ...over });

    const full = await train(opts({}));

    const ac = new AbortController();
    const src = leastSquares({ dropout: true });
    const cut = await train(opts({ source: src, checkpointDir: dir, signal: ac.signal, onProgress: (s) => s === 11 && ac.abort() }));
    expect(cut.aborted).toBe(true);
    expect(cut.step).toBe(11);
    expect(src.calls).toBe(22); // no micro-batch ran after the abort
    // A fresh batch stream with another seed: the checkpoint's cursor must override it.
    const resumed = await train(opts({ batches: rowBatches(1234), checkpointDir: dir, resume: true, seed: 999 }));
    expect(resumed.aborted).toBe(false);
    expect(resumed.lossCurve).toEqual(full.lossCurve);
    expect(resumed.evals).toEqual(full.evals);
    expect(bits(resumed.params)).toBe(bits(full.params));
    expect(bits(resumed.optimizer.state().m)).toBe(bits(full.optimizer.state().m));
  });

  it('resumes from a periodic checkpoint with the same result', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'train-'));
    dirs.push(dir);
    const full = await train(baseOptions({ checkpointDir: dir, checkpointEvery: 10, steps: 30 }));
    // Rewind: a run of 20 steps writes the step-20 checkpoint, then resume to 30.
    const dir2 = await mkdtemp(path.join(tmpdir(), 'train-'));
    dirs.push(dir2);
    await train(baseOptions({ checkpointDir: dir2, checkpointEvery: 10, steps: 20 }));
    const rest = await train(baseOptions({ checkpointDir: dir2, resume: true, steps: 30 }));
    expect(rest.lossCurve.map((p) => p.loss)).toEqual(full.lossCurve.map((p) => p.loss));
    expect(bits(rest.params)).toBe(bits(full.params));
    await expect(train(baseOptions({ checkpointDir: dir2, resume: true, params: new Map([['w', new Float32Array(D)]]) }))).rejects.toThrow(/does not match|parameters/);
  });

  it('fails loudly on a non-finite loss or a missing gradient', async () => {
    const nan: GradientSource<Rows> = { step: async () => ({ loss: NaN, grads: new Map() }) };
    await expect(train(baseOptions({ source: nan }))).rejects.toThrow(/loss is NaN at step 1/);
    const partial: GradientSource<Rows> = { step: async () => ({ loss: 1, grads: new Map([['w', new Float32Array(D)]]) }) };
    await expect(train(baseOptions({ source: partial }))).rejects.toThrow(/no gradient for trainable parameter "b"/);
  });
});
