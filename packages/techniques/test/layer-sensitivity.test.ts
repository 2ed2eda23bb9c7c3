import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { causalLm } from '@distillery/eval';
import { serializeModel, type Model } from '@distillery/onnx';
import { sampleSequences } from '@distillery/data';
import { measureSensitivity } from '../src/sensitivity/layer-sensitivity';
import { dequantizeWeight, quantizeWeight } from '../src/kit/quantizer';
import { quietContext, rewriteLinear } from '../src';
import { tinyCorpus, trainTinyModel } from './finetune-tiny-lm';

async function logitsOf(model: Model, seqs: Int32Array[]): Promise<{ logits: Float32Array; vocab: number }[]> {
  const s = await ort.InferenceSession.create(serializeModel(model).model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const lm = causalLm(s);
    const out = [];
    for (const q of seqs) out.push(await lm.forward(q));
    return out;
  } finally {
    await s.release();
  }
}

/** Mean KL(base || candidate) and both perplexities over every position that predicts a next token, by definition in float64. */
async function slowKl(base: Model, candidate: Model, seqs: Int32Array[]): Promise<{ kl: number; pplDelta: number }> {
  const a = await logitsOf(base, seqs);
  const b = await logitsOf(candidate, seqs);
  let sum = 0;
  let n = 0;
  let nllBase = 0;
  let nllCand = 0;
  const logSoftmax = (x: Float32Array, off: number, v: number) => {
    let m = -Infinity;
    for (let j = 0; j < v; j++) m = Math.max(m, x[off + j]!);
    let z = 0;
    for (let j = 0; j < v; j++) z += Math.exp(x[off + j]! - m);
    return Array.from({ length: v }, (_, j) => x[off + j]! - m - Math.log(z));
  };
  seqs.forEach((q, i) => {
    const v = a[i]!.vocab;
    for (let t = 0; t < q.length - 1; t++) {
      const p = logSoftmax(a[i]!.logits, t * v, v);
      const r = logSoftmax(b[i]!.logits, t * v, v);
      for (let j = 0; j < v; j++) sum += Math.exp(p[j]!) * (p[j]! - r[j]!);
      nllBase -= p[q[t + 1]!]!;
      nllCand -= r[q[t + 1]!]!;
      n++;
    }
  });
  return { kl: sum / n, pplDelta: Math.exp(nllCand / n) - Math.exp(nllBase / n) };
}

describe('measureSensitivity', () => {
  let model: Model;
  let seqs: Int32Array[];
  beforeAll(async () => {
    model = await trainTinyModel(150);
    seqs = sampleSequences(tinyCorpus().train, 4, 48, 7);
  });

  it('measures KL and perplexity change per layer and probe; KL equals its definition', async () => {
    const selection = { blocks: [1], roles: ['q' as const, 'down' as const] };
    const table = await measureSensitivity(model, seqs, { selection, probes: [{ bits: 2 }, { bits: 8 }, { sparsity: 0.5 }], symmetric: true, groupSize: 16 });
    expect(table.rows.map((r) => [r.layer.split('/').slice(-2)[0], r.bits, r.sparsity])).toEqual([
      ['q_proj', 2, null],
      ['q_proj', 8, null],
      ['q_proj', null, 0.5],
      ['down_proj', 2, null],
      ['down_proj', 8, null],
      ['down_proj', null, 0.5],
    ]);
    for (const layer of ['q_proj', 'down_proj']) {
      const rows = table.rows.filter((r) => r.layer.includes(layer));
      const [two, eight] = rows;
      expect(two!.kl).toBeGreaterThan(eight!.kl);
      expect(eight!.kl).toBeLessThan(1e-3);
      expect(two!.bitsPerWeight).toBeCloseTo(2 + 32 / 16, 6);
    }
    // The down projection's 2-bit row, against a KL computed from the two models' logits: the
    // base, and the base with that layer's weight replaced by its dequantized values.
    const row = table.rows.find((r) => r.layer.includes('down_proj') && r.bits === 2)!;
    const candidate = await rewriteLinear(model, {
      technique: 't',
      selection: { blocks: [1], roles: ['down'] },
      ctx: quietContext(),
      method: (t) => ({ kind: 'dense', values: dequantizeWeight(quantizeWeight(t.values, t.inFeatures, t.outFeatures, { bits: 2, symmetric: true, groupSize: 16 })) }),
    });
    const ref = await slowKl(model, candidate.model, seqs);
    expect(row.kl).toBeGreaterThan(1e-4);
    expect(row.kl / ref.kl).toBeCloseTo(1, 3);
    expect(row.pplDelta).toBeCloseTo(ref.pplDelta, 4);
  });

  it('fails naming what the model has when the selection matches no layer', async () => {
    await expect(measureSensitivity(model, seqs, { selection: { blocks: [7] }, probes: [{ bits: 4 }], symmetric: true })).rejects.toThrow(/no linear layer matched the selection; found/);
  });
});

