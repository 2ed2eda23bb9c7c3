/**
 * What the worker adds around every step: a step that changes nothing fails (a real
 * no-op: quantize.rtn-int8 with every layer skipped, run in a Piscina thread), parameters
 * are checked against the model the thread decoded, loss curves are thinned to a bounded
 * number of points, and derived model names are bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { decodeModel, serializeModel } from '@distillery/onnx';
import { MAX_MODEL_NAME } from '@distillery/techniques';
import { CancelFlag } from '../src/cancel-flag';
import { derivedModelName } from '../src/derived-model-name';
import { thinSeries } from '../src/series-thinning';
import { createThreadPool, type ThreadPool } from '../src/thread-pool';
import type { SeriesPoint } from '../src/thread-messages';
import { computeFingerprint, unchangedReason } from '../src/unchanged-model';

let pool: ThreadPool;
let modelBytes: Uint8Array;
// A copy of exactly the model's bytes: the pool moves the buffer it is given.
const fresh = (): ArrayBuffer => new Uint8Array(modelBytes).buffer as ArrayBuffer;

beforeAll(() => {
  pool = createThreadPool({ threads: 1 });
  const c = decoderPreset('tiny');
  modelBytes = serializeModel(buildDecoder(c, initDecoderWeights(c, 5, 0.2))).model;
});
afterAll(async () => pool?.close());

describe('a step that changes nothing', () => {
  it('fails with the reason when every layer is skipped', async () => {
    const out = await pool.runTechnique(
      { model: fresh(), techniqueId: 'quantize.rtn-int8', params: { skip: ['/model/', 'lm_head'] }, tokenizerJson: null },
      { cancel: new CancelFlag(), onProgress: () => undefined },
    );
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.reason).toBe('invalid');
      expect(out.message).toMatch(
        // The kit refuses before the worker's same-output check would; either way the step names why nothing changed.
        /^quantize\.rtn-int8: (no linear layer matched the selection; found \d+: .*named in skip|the output model has the same graph and the same weights as its input)/,
      );
    }
  });

  it('passes a step that changed one layer', async () => {
    const out = await pool.runTechnique(
      { model: fresh(), techniqueId: 'quantize.rtn-int8', params: { skip: ['/model/'] }, tokenizerJson: null },
      { cancel: new CancelFlag(), onProgress: () => undefined },
    );
    if (!out.ok) throw new Error(out.message);
    expect(out.value.report.layersQuantized).toBe(1);
    expect(out.value.decoderConfig).toMatchObject({ model_type: 'llama', num_hidden_layers: 2, hidden_size: 32 });
  });

  it('tells weights and wiring apart, ignoring metadata', () => {
    const a = decodeModel(modelBytes);
    expect(unchangedReason(a, { ...a, metadata: { ...a.metadata, note: 'touched' }, producerName: 'x' })).not.toBeNull();
    const init = a.graph.initializers;
    const raw = Uint8Array.from(init[0]!.raw);
    raw[0] = raw[0]! ^ 1; // one bit of one weight
    const oneBit = { ...a, graph: { ...a.graph, initializers: [{ ...init[0]!, raw }, ...init.slice(1)] } };
    expect(unchangedReason(a, oneBit)).toBeNull();
    const nodes = a.graph.nodes;
    const rewired = { ...a, graph: { ...a.graph, nodes: [{ ...nodes[0]!, inputs: [...nodes[0]!.inputs].reverse() }, ...nodes.slice(1)] } };
    expect(computeFingerprint(rewired)).not.toBe(computeFingerprint(a));
    // Initializer order carries no meaning.
    const reordered = { ...a, graph: { ...a.graph, initializers: [...init].reverse() } };
    expect(computeFingerprint(reordered)).toBe(computeFingerprint(a));
  });
});

describe('parameters checked against the decoded model', () => {
  it('refuses a student larger than the teacher in the thread too, naming the field', async () => {
    const out = await pool.runTechnique(
      { model: fresh(), techniqueId: 'distill.kd', params: { student: { layers: 3 }, seqLen: 32 }, tokenizerJson: null },
      { cancel: new CancelFlag(), onProgress: () => undefined },
    );
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.message).toBe("distill.kd: params.student.layers: student.layers (3) must not exceed the teacher's 2 layers: a student is no larger than its teacher");
  });
});

describe('the memory budget in the thread', () => {
  it('refuses a step estimated beyond WORKER_MEMORY_BUDGET_MB for a model the API could not estimate', async () => {
    const before = process.env.WORKER_MEMORY_BUDGET_MB;
    process.env.WORKER_MEMORY_BUDGET_MB = '64';
    // A thread copies the environment when it starts.
    const small = createThreadPool({ threads: 1 });
    if (before === undefined) delete process.env.WORKER_MEMORY_BUDGET_MB;
    else process.env.WORKER_MEMORY_BUDGET_MB = before;
    try {
      const out = await small.runTechnique(
        { model: fresh(), techniqueId: 'distill.kd', params: { student: { layers: 1 }, batchSize: 256, seqLen: 64 }, tokenizerJson: null },
        { cancel: new CancelFlag(), onProgress: () => undefined },
      );
      expect(out.ok).toBe(false);
      if (!out.ok) expect(out.message).toMatch(/^distill\.kd needs an estimated \d+ MB at its peak on this model, more than the worker's memory budget of 64 MB \(WORKER_MEMORY_BUDGET_MB\)$/);
    } finally {
      await small.close();
    }
  });
});

describe('bounded records', () => {
  it('thins each series evenly to at most max points, keeping first and last', () => {
    const series: SeriesPoint[] = [];
    for (let s = 1; s <= 1000; s++) series.push({ name: 'train.loss', step: s, value: 1 / s });
    for (let s = 1; s <= 4; s++) series.push({ name: 'train.heldout.perplexity', step: s * 250, value: s });
    const out = thinSeries(series, 200);
    const loss = out.filter((p) => p.name === 'train.loss');
    expect(loss).toHaveLength(200);
    expect(loss[0]!.step).toBe(1);
    expect(loss.at(-1)!.step).toBe(1000);
    // Evenly spaced: gaps differ by at most one step from 999 / 199.
    const gaps = loss.slice(1).map((p, i) => p.step - loss[i]!.step);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
    expect(out.filter((p) => p.name === 'train.heldout.perplexity')).toHaveLength(4);
    // A slow reference: the same selection by brute force.
    const expected = Array.from({ length: 200 }, (_, k) => Math.round((k * 999) / 199) + 1);
    expect(loss.map((p) => p.step)).toEqual(expected);
  });

  it('cuts derived names to the bound, keeping the start and the latest step', () => {
    expect(derivedModelName('ref-base', 'quantize.rtn-int8')).toBe('ref-base → quantize.rtn-int8');
    let name = 'x'.repeat(10_000);
    for (let i = 0; i < 16; i++) name = derivedModelName(name, 'distill.kd');
    expect([...name]).toHaveLength(MAX_MODEL_NAME);
    expect(name.startsWith('xxx')).toBe(true);
    expect(name.endsWith('→ distill.kd')).toBe(true);
    expect(name).toContain('…');
  });
});
