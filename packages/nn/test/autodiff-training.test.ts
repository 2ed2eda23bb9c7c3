import { afterAll, describe, expect, it } from 'vitest';
import { decoderPreset, type DecoderConfig } from '../src/decoder/config';
import { createPrng } from '../src/decoder/prng';
import { referenceForward } from '../src/decoder/reference-forward';
import { decoderWeightShapes, initDecoderWeights } from '../src/decoder/weights';
import {
  Tracer, blockContext, buildTrainingGraph, checkOpGradients, compareWithFiniteDifferences, createTrainingSession, decoderBlock,
  hiddenProjectionName, loraParamNames, mul, reduceSum, type GradCheckInput, type TrainingBatch, type TrainingGraphOptions, type TrainingSession,
} from '../src/autodiff/index';

const B = 2;
const T = 5;
const sessions: TrainingSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release();
});

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = createPrng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

type IntBatch = TrainingBatch & { inputIds: Int32Array; targets: Int32Array };

function batchFor(c: DecoderConfig, seed: number, opts: { ignore?: number[]; teacherHidden?: number } = {}): IntBatch {
  const r = createPrng(seed);
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(r.next() * c.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => Math.floor(r.next() * c.vocabSize));
  for (const i of opts.ignore ?? []) targets[i] = -1;
  return {
    inputIds: ids,
    targets,
    teacherLogits: randn(B * T * c.vocabSize, seed + 1, 2),
    ...(opts.teacherHidden ? { teacherHidden: [randn(B * T * opts.teacherHidden, seed + 2), randn(B * T * opts.teacherHidden, seed + 3)] } : {}),
  };
}

async function session(c: DecoderConfig, opts: TrainingGraphOptions): Promise<TrainingSession> {
  const s = await createTrainingSession(buildTrainingGraph(c, opts));
  sessions.push(s);
  return s;
}

function logSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

describe('training graph forward matches the reference decoder', () => {
  for (const tieEmbeddings of [false, true]) {
    it(`logits and losses (tied=${tieEmbeddings}, GQA 4/2)`, async () => {
      const c = decoderPreset('tiny', { tieEmbeddings });
      const w = initDecoderWeights(c, 3, 0.15);
      const batch = batchFor(c, 11, { ignore: [3, 7] });
      const ids = [0, 1].map((b) => Array.from(batch.inputIds.subarray(b * T, (b + 1) * T)));
      const ref = referenceForward(c, w, ids).logits;
      const out = await (await session(c, { loss: 'ce', batchSize: B, seqLen: T, logits: true })).step(w, batch);
      let maxDiff = 0;
      let maxAbs = 0;
      ref.flat(2).forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - out.logits![i]!));
        maxAbs = Math.max(maxAbs, Math.abs(v));
      });
      expect(maxAbs).toBeGreaterThan(0.1); // the comparison is not between near-zero logits
      expect(maxDiff).toBeLessThanOrEqual(1e-4);

      // Cross-entropy: mean over the 8 counted targets of -log softmax.
      const rows = ref.flat(1);
      const tg = Array.from(batch.targets);
      let ce = 0;
      rows.forEach((row, i) => tg[i]! >= 0 && (ce -= logSoftmax(row)[tg[i]!]!));
      ce /= tg.filter((v) => v >= 0).length;
      expect(out.loss).toBeCloseTo(ce, 4);

      // KD terms: T^2 * mean KL over the counted positions, both directions.
      const temp = 2;
      for (const direction of ['forward', 'reverse'] as const) {
        const kdOut = await (await session(c, { loss: { kd: { alpha: 0.7, temperature: temp, direction } }, batchSize: B, seqLen: T })).step(w, batch);
        let kl = 0;
        rows.forEach((row, i) => {
          if (tg[i]! < 0) return;
          const ls = logSoftmax(row.map((v) => v / temp));
          const lt = logSoftmax(Array.from(batch.teacherLogits!.subarray(i * c.vocabSize, (i + 1) * c.vocabSize), (v) => v / temp));
          const [lp, lq] = direction === 'forward' ? [lt, ls] : [ls, lt];
          lp.forEach((v, j) => (kl += Math.exp(v) * (v - lq[j]!)));
        });
        kl = (kl * temp * temp) / tg.filter((v) => v >= 0).length;
        expect(kdOut.terms['loss.kd'], direction).toBeCloseTo(kl, 4);
        expect(kdOut.loss).toBeCloseTo(0.7 * kl + 0.3 * ce, 4);
      }
    });
  }
});

async function checkTraining(c: DecoderConfig, opts: TrainingGraphOptions, batch: TrainingBatch, params: Map<string, Float32Array>) {
  const s32 = await session(c, { ...opts, batchSize: B, seqLen: T });
  const s64 = await session(c, { ...opts, batchSize: B, seqLen: T, dtype: 'float64' });
  const analytic = (await s32.step(params, batch)).grads;
  const base = new Map([...params].map(([k, v]) => [k, Float64Array.from(v)]));
  return compareWithFiniteDifferences(analytic, base, async (vals) => (await s64.step(vals, batch)).loss, { coordsPerInput: 6, directions: 2 });
}

function withExtras(c: DecoderConfig, seed: number, extra: [string, number[]][] = []): Map<string, Float32Array> {
  const w = initDecoderWeights(c, seed, 0.15);
  // Non-unit norm gains, so their gradients are not special-cased by symmetry.
  for (const [name, v] of w) if (name.endsWith('norm.weight')) v.set(randn(v.length, seed + v.length, 0.2).map((x) => 1 + x));
  for (const [name, shape] of extra) w.set(name, randn(shape.reduce((a, b) => a * b, 1), seed + 9, 0.2));
  return w;
}

describe('training graph gradients vs float64 central differences', () => {
  it('cross-entropy, untied, with ignored targets', async () => {
    const c = decoderPreset('tiny');
    const r = await checkTraining(c, { loss: 'ce' }, batchFor(c, 21, { ignore: [0, 9] }), withExtras(c, 4));
    for (const p of r.perInput) expect(p.relError, p.name).toBeLessThan(1e-3);
    for (const d of r.directional) expect(d).toBeLessThan(1e-3);
  });

  it('forward KD + hidden MSE with projection, tied, one frozen parameter', async () => {
    const c = decoderPreset('tiny', { tieEmbeddings: true });
    const opts: TrainingGraphOptions = {
      loss: { kd: { alpha: 0.5, temperature: 2, direction: 'forward' } },
      hiddenMse: { layerMap: [[0, 1], [1, 3]], projection: true, teacherHiddenSize: 24 },
      frozen: ['model.layers.0.mlp.up_proj.weight'],
    };
    const graph = buildTrainingGraph(c, { ...opts, batchSize: B, seqLen: T });
    expect(graph.paramNames).not.toContain('model.layers.0.mlp.up_proj.weight');
    expect(graph.outputs).not.toContain('grad.model.layers.0.mlp.up_proj.weight');
    expect(graph.paramNames).toContain(hiddenProjectionName(1));
    expect(graph.inputNames).toEqual(expect.arrayContaining(['input_ids', 'targets', 'teacher_logits', 'teacher_hidden.1', 'teacher_hidden.3']));
    const params = withExtras(c, 5, [[hiddenProjectionName(0), [32, 24]], [hiddenProjectionName(1), [32, 24]]]);
    const r = await checkTraining(c, opts, batchFor(c, 22, { teacherHidden: 24 }), params);
    expect(r.perInput.length).toBe(graph.paramNames.length);
    for (const p of r.perInput) expect(p.relError, p.name).toBeLessThan(1e-3);
    for (const d of r.directional) expect(d).toBeLessThan(1e-3);
  });

  it('reverse KD (MiniLLM direction), alpha 1', async () => {
    const c = decoderPreset('tiny', { nLayers: 1 });
    const r = await checkTraining(c, { loss: { kd: { alpha: 1, temperature: 1.5, direction: 'reverse' } } }, batchFor(c, 23), withExtras(c, 6));
    expect(r.maxRelError).toBeLessThan(1e-3);
  });

  it('one decoder block (GQA) in isolation', async () => {
    const c = decoderPreset('tiny');
    const shapes = [...decoderWeightShapes(c)].filter(([n]) => n.startsWith('model.layers.1.'));
    const inputs: GradCheckInput[] = [
      { name: 'x', shape: [B * T, c.hiddenSize], data: randn(B * T * c.hiddenSize, 31) },
      ...shapes.map(([name, shape], i) => ({
        name,
        shape,
        data: name.endsWith('norm.weight') ? randn(shape[0]!, 40 + i, 0.2).map((v) => 1 + v) : randn(shape.reduce((a, b) => a * b, 1), 40 + i, 0.2),
      })),
    ];
    const r = await checkOpGradients((t: Tracer, m) => {
      const y = decoderBlock(m.get('x')!, 1, (n) => m.get(n)!, blockContext(t, c, B, T));
      return reduceSum(mul(y, t.constant(randn(B * T * c.hiddenSize, 99), [B * T, c.hiddenSize])));
    }, inputs, { coordsPerInput: 8 });
    expect(r.perInput.length).toBe(10);
    for (const p of r.perInput) expect(p.relError, p.name).toBeLessThan(1e-3);
    for (const d of r.directional) expect(d).toBeLessThan(1e-3);
  });
});

describe('training graph shapes and edge cases', () => {
  it('a symbolic batch gives the same mean loss and gradients for a repeated row', async () => {
    const c = decoderPreset('tiny', { nLayers: 1 });
    const s = await session(c, { loss: 'ce', seqLen: T });
    const w = initDecoderWeights(c, 8, 0.15);
    const one = batchFor(c, 41);
    const single = { inputIds: one.inputIds.subarray(0, T), targets: one.targets.subarray(0, T) };
    const triple = {
      inputIds: Int32Array.from([...single.inputIds, ...single.inputIds, ...single.inputIds]),
      targets: Int32Array.from([...single.targets, ...single.targets, ...single.targets]),
    };
    const a = await s.step(w, single);
    const b = await s.step(w, triple);
    expect(b.loss).toBeCloseTo(a.loss, 5);
    const g1 = a.grads.get('model.layers.0.self_attn.q_proj.weight')!;
    const g3 = b.grads.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(Math.max(...g1.map((v, i) => Math.abs(v - g3[i]!)))).toBeLessThan(1e-5);
    expect(Math.max(...g1.map(Math.abs))).toBeGreaterThan(1e-4);
  });

  it('a symbolic batch also averages the hidden-state MSE per element', async () => {
    const c = decoderPreset('tiny', { nLayers: 1 });
    const s = await session(c, { loss: 'ce', seqLen: T, hiddenMse: { layerMap: { 0: 0 }, projection: false, weight: 0.5 } });
    const w = initDecoderWeights(c, 8, 0.15);
    const one = batchFor(c, 43);
    const h = randn(T * c.hiddenSize, 44);
    const single = { inputIds: one.inputIds.subarray(0, T), targets: one.targets.subarray(0, T), teacherHidden: [h] };
    const triple = {
      inputIds: Int32Array.from([...single.inputIds, ...single.inputIds, ...single.inputIds]),
      targets: Int32Array.from([...single.targets, ...single.targets, ...single.targets]),
      teacherHidden: [Float32Array.from([...h, ...h, ...h])],
    };
    const a = await s.step(w, single);
    const b = await s.step(w, triple);
    expect(a.terms['loss.hidden']).toBeGreaterThan(0.1);
    expect(b.terms['loss.hidden']).toBeCloseTo(a.terms['loss.hidden']!, 5);
    expect(a.loss).toBeCloseTo(a.terms['loss.ce']! + 0.5 * a.terms['loss.hidden']!, 5);
  });

  it('names linear nodes like Optimum exports and lists outputs loss-first', () => {
    const g = buildTrainingGraph(decoderPreset('tiny'), { loss: 'ce', batchSize: B, seqLen: T });
    const names = new Map(g.model.graph.nodes.map((n) => [n.name, n.opType]));
    expect(names.get('/model/layers.1/self_attn/q_proj/MatMul')).toBe('MatMul');
    expect(names.get('/model/layers.0/mlp/down_proj/MatMul')).toBe('MatMul');
    expect(names.get('/lm_head/MatMul')).toBe('MatMul');
    expect(g.outputs[0]).toBe('loss');
    expect(g.outputs.filter((o) => o.startsWith('grad.'))).toEqual(g.paramNames.map((n) => `grad.${n}`));
    expect(g.model.graph.outputs.map((o) => o.name)).toEqual(g.outputs);
  });

  it('all targets ignored: zero loss and zero gradients, not NaN', async () => {
    const c = decoderPreset('tiny', { nLayers: 1 });
    const s = await session(c, { loss: 'ce', batchSize: B, seqLen: T });
    const batch = batchFor(c, 42, { ignore: Array.from({ length: B * T }, (_, i) => i) });
    const r = await s.step(initDecoderWeights(c, 9), batch);
    expect(r.loss).toBe(0);
    for (const g of r.grads.values()) expect(g.every((v) => v === 0)).toBe(true);
  });

  it('LoRA adapters on frozen projections: only A and B get gradients, which match float64 differences; logits equal the reference with W + s A B', async () => {
    const c = decoderPreset('tiny');
    const include = (n: string) => /\.(q_proj|mlp\.up_proj)\.weight$/.test(n);
    const base = withExtras(c, 6);
    const opts: TrainingGraphOptions = { loss: 'ce', lora: { rank: 3, alpha: 6, include }, frozen: [...base.keys()] };
    const graph = buildTrainingGraph(c, { ...opts, batchSize: B, seqLen: T });
    const adapted = [...base.keys()].filter(include);
    expect(graph.paramNames.sort()).toEqual(adapted.flatMap((n) => [loraParamNames(n).a, loraParamNames(n).b]).sort());
    const params = new Map(base);
    const shapes = decoderWeightShapes(c);
    adapted.forEach((n, i) => {
      const [rows, cols] = shapes.get(n)!;
      params.set(loraParamNames(n).a, randn(rows! * 3, 40 + i, 0.3));
      params.set(loraParamNames(n).b, randn(3 * cols!, 60 + i, 0.3));
    });
    const batch = batchFor(c, 23);
    const r = await checkTraining(c, opts, batch, params);
    expect(r.perInput.length).toBe(2 * adapted.length);
    for (const p of r.perInput) expect(p.relError, p.name).toBeLessThan(1e-3);
    for (const d of r.directional) expect(d).toBeLessThan(1e-3);

    // Forward: the reference decoder with each adapted weight replaced by W + (alpha / rank) A B, summed in float64.
    const merged = new Map(base);
    for (const n of adapted) {
      const [rows, cols] = shapes.get(n)! as [number, number];
      const a = params.get(loraParamNames(n).a)!;
      const b = params.get(loraParamNames(n).b)!;
      const w = Float32Array.from(base.get(n)!);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
        let d = 0;
        for (let k = 0; k < 3; k++) d += a[i * 3 + k]! * b[k * cols + j]!;
        w[i * cols + j] = w[i * cols + j]! + 2 * d;
      }
      merged.set(n, w);
    }
    const ids = [0, 1].map((row) => Array.from(batch.inputIds.subarray(row * T, (row + 1) * T)));
    const ref = referenceForward(c, merged, ids).logits.flat(2);
    const out = await (await session(c, { ...opts, batchSize: B, seqLen: T, logits: true })).step(params, batch);
    const plain = referenceForward(c, base, ids).logits.flat(2);
    expect(Math.max(...ref.map((v, i) => Math.abs(v - plain[i]!)))).toBeGreaterThan(1e-2);
    expect(Math.max(...ref.map((v, i) => Math.abs(v - out.logits![i]!)))).toBeLessThan(1e-4);
  });

  it('rejects unknown frozen names and out-of-range hidden layers', () => {
    const c = decoderPreset('tiny');
    expect(() => buildTrainingGraph(c, { loss: 'ce', frozen: ['nope'] })).toThrow(/nope/);
    expect(() => buildTrainingGraph(c, { loss: 'ce', hiddenMse: { layerMap: { 5: 0 }, projection: false } })).toThrow(/out of range/);
  });
});
