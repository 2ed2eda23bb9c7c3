import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { inspectModel, readModel, serializeModel } from '@distillery/onnx';
import {
  buildDecoder,
  createDecoderSession,
  decoderPreset,
  initDecoderWeights,
  readDecoderConfig,
  referenceForward,
  runDecoder,
  usesFusedAttention,
  type DecoderConfig,
  type DecoderStepOutput,
} from '../src/decoder/index';

function maxDiffToReference(out: DecoderStepOutput, ref: number[][][]): number {
  let d = 0;
  const V = ref[0]![0]!.length;
  ref.forEach((row, b) =>
    row.forEach((logits, s) =>
      logits.forEach((v, k) => {
        d = Math.max(d, Math.abs(v - out.logits[(b * out.seq + s) * V + k]!));
      }),
    ),
  );
  return d;
}

const configs: [string, DecoderConfig][] = [
  ['GQA 4q/2kv, untied', decoderPreset('tiny')],
  ['MHA 4q/4kv, tied', decoderPreset('tiny', { nKvHeads: 4, tieEmbeddings: true })],
  ['MQA 4q/1kv, 3 layers, other theta/eps', decoderPreset('tiny', { nKvHeads: 1, nLayers: 3, ropeTheta: 500, normEps: 1e-6, vocabSize: 70 })],
  ['GQA 6q/2kv, tied, hd 6', decoderPreset('tiny', { hiddenSize: 36, nHeads: 6, nKvHeads: 2, headDim: 6, ffnSize: 40, tieEmbeddings: true })],
  // Head sizes that are a multiple of 8 take GroupQueryAttention, hd 6 standard ops (usesFusedAttention).
  ['GroupQueryAttention 4q/2kv, hd 16, untied', decoderPreset('tiny', { headDim: 16 })],
  ['GroupQueryAttention 4q/4kv, hd 16, tied', decoderPreset('tiny', { nKvHeads: 4, headDim: 16, tieEmbeddings: true })],
  ['GroupQueryAttention 4q/1kv, hd 32, 3 layers, other theta/eps', decoderPreset('tiny', { nKvHeads: 1, headDim: 32, nLayers: 3, ropeTheta: 500, normEps: 1e-6, vocabSize: 70 })],
];

describe('buildDecoder in onnxruntime-node vs referenceForward', () => {
  it.each(configs)('%s: logits match for batch 2 (max abs diff <= 1e-4)', async (_name, c) => {
    // std 0.2 rather than 0.02 so logits are O(1) and any wiring error shows.
    const w = initDecoderWeights(c, 11, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const ids = [
      [3, 17, 42, 5, 9, 60, 1],
      [8, 8, 30, 2, 55, 14, 27],
    ];
    const out = await runDecoder(session, c, { inputIds: ids });
    const ref = referenceForward(c, w, ids);
    expect(out.logits.length).toBe(2 * 7 * c.vocabSize);
    expect(maxDiffToReference(out, ref.logits)).toBeLessThanOrEqual(1e-4);
    // The cache it returns is the reference's too (keys after RoPE).
    for (let l = 0; l < c.nLayers; l++) {
      const k = out.present.layers[l]!.key;
      const rk = ref.present.layers[l]!.key;
      expect(k.length).toBe(2 * c.nKvHeads * 7 * c.headDim);
      let d = 0;
      k.forEach((v, i) => (d = Math.max(d, Math.abs(v - rk[i]!))));
      expect(d).toBeLessThanOrEqual(1e-4);
    }
  });

  it.each([configs[0]!, configs[3]!])('%s: uses position_ids for RoPE: relative shifts are invisible, uneven gaps are not', async (_name, c) => {
    const w = initDecoderWeights(c, 3, 0.2);
    const session = await createDecoderSession(buildDecoder(c, w));
    const ids = [[4, 9, 16, 25]];
    const maxDiff = (a: DecoderStepOutput, b: DecoderStepOutput): number => {
      let d = 0;
      a.logits.forEach((v, i) => (d = Math.max(d, Math.abs(v - b.logits[i]!))));
      return d;
    };
    const plain = await runDecoder(session, c, { inputIds: ids });
    const shifted = await runDecoder(session, c, { inputIds: ids, positionIds: [[10, 11, 12, 13]] });
    const gaps = await runDecoder(session, c, { inputIds: ids, positionIds: [[0, 3, 4, 9]] });
    // RoPE scores depend only on position differences (Su et al. 2021, eq. 16).
    expect(maxDiff(plain, shifted)).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(plain, gaps)).toBeGreaterThan(1e-2);
    expect(maxDiffToReference(gaps, referenceForward(c, w, ids, { positionIds: [[0, 3, 4, 9]] }).logits)).toBeLessThanOrEqual(1e-4);
  });
});

describe('model interface', () => {
  const c = decoderPreset('tiny');
  const model = buildDecoder(c, initDecoderWeights(c, 1));

  it('has the Optimum input/output names, dtypes and symbolic dims', () => {
    const ins = Object.fromEntries(model.graph.inputs.map((v) => [v.name, v]));
    expect(ins.input_ids).toMatchObject({ dtype: 'int64', shape: ['batch_size', 'sequence_length'] });
    expect(ins.attention_mask).toMatchObject({ dtype: 'int64', shape: ['batch_size', 'total_sequence_length'] });
    expect(ins.position_ids).toMatchObject({ dtype: 'int64', shape: ['batch_size', 'sequence_length'] });
    expect(ins['past_key_values.1.value']).toMatchObject({ dtype: 'float32', shape: ['batch_size', 2, 'past_sequence_length', 8] });
    expect(model.graph.outputs.map((o) => o.name)).toEqual([
      'logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value',
    ]);
    expect(model.graph.outputs[0]!.shape).toEqual(['batch_size', 'sequence_length', c.vocabSize]);
    expect(model.opsetImports).toEqual([{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
  });

  it('names linear layers as Optimum exports do, with unique node names', () => {
    const names = model.graph.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    for (const role of ['self_attn/q_proj', 'self_attn/k_proj', 'self_attn/v_proj', 'self_attn/o_proj', 'mlp/gate_proj', 'mlp/up_proj', 'mlp/down_proj']) {
      expect(names).toContain(`/model/layers.1/${role}/MatMul`);
    }
    expect(names).toContain('/lm_head/MatMul');
    expect(model.graph.nodes.filter((n) => n.opType === 'MatMul' && /_proj\/MatMul$/.test(n.name))).toHaveLength(14);
  });

  it('is grouped by block and role by inspectModel, tied and float16 heads included', () => {
    const tied = { ...c, tieEmbeddings: true };
    const tiedHalf = buildDecoder(tied, initDecoderWeights(tied, 1), { weightDtype: 'float16' });
    for (const m of [model, tiedHalf]) {
      const info = inspectModel(m);
      expect(info.blocks.map((b) => b.block)).toEqual([0, 1]);
      for (const b of info.blocks) {
        expect(b.linearLayers.map((l) => `${l.role}:${l.inFeatures}x${l.outFeatures}`).sort()).toEqual(
          ['q:32x32', 'k:32x16', 'v:32x16', 'o:32x32', 'gate:32x64', 'up:32x64', 'down:64x32'].sort(),
        );
      }
      const head = info.linearLayers.find((l) => l.role === 'lm_head')!;
      expect(head.node).toBe('/lm_head/MatMul');
    }
  });

  it('takes one GroupQueryAttention per layer when the head size allows it, standard ops (RoPE by RotaryEmbedding) otherwise', () => {
    const count = (m: typeof model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;
    expect(usesFusedAttention(c)).toBe(true);
    expect(count(model, 'GroupQueryAttention')).toBe(c.nLayers);
    expect(count(model, 'RotaryEmbedding')).toBe(2 * c.nLayers);
    expect(count(model, 'Softmax')).toBe(0);
    expect(model.graph.nodes.filter((n) => n.opType === 'GroupQueryAttention' || n.opType === 'RotaryEmbedding').every((n) => n.domain === 'com.microsoft')).toBe(true);
    const c6 = decoderPreset('tiny', { headDim: 6 });
    const standard = buildDecoder(c6, initDecoderWeights(c6, 1));
    expect(usesFusedAttention(c6)).toBe(false);
    expect(count(standard, 'GroupQueryAttention')).toBe(0);
    expect(count(standard, 'RotaryEmbedding')).toBe(2 * c6.nLayers);
    expect(count(standard, 'Softmax')).toBe(c6.nLayers);
    // GQA reads each kv head once: no Expand of K or V.
    expect(count(standard, 'Expand')).toBe(0);
  });

  it('masks with Where and never multiplies by -inf', () => {
    const ops = (m: typeof model) => m.graph.nodes.map((n) => n.opType);
    // Once per step as GroupQueryAttention's finite additive bias; per layer on the scores otherwise.
    expect(ops(model).filter((o) => o === 'Where')).toHaveLength(1);
    const c6 = decoderPreset('tiny', { headDim: 6 });
    expect(ops(buildDecoder(c6, initDecoderWeights(c6, 1))).filter((o) => o === 'Where')).toHaveLength(c6.nLayers);
    for (const t of model.graph.initializers) {
      if (t.dtype === 'float32' && t.dims.length === 0) expect(Number.isFinite(new Float32Array(t.raw.slice().buffer)[0]!)).toBe(true);
    }
  });

  it('has RMSNorms that ONNX Runtime fuses into one kernel each', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'decoder-fusion-'));
    try {
      const file = path.join(dir, 'optimized.onnx');
      const session = await ort.InferenceSession.create(serializeModel(model).model, { graphOptimizationLevel: 'extended', optimizedModelFilePath: file });
      await session.release();
      const ops = (await readModel(file)).graph.nodes.map((n) => n.opType);
      expect(ops.filter((o) => o === 'SimplifiedLayerNormalization')).toHaveLength(2 * c.nLayers + 1);
      expect(ops).not.toContain('ReduceMean');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('describes itself through metadata', () => {
    expect(readDecoderConfig(model)).toEqual(c);
    expect(readDecoderConfig({ ...model, metadata: {} })).toBeUndefined();
  });
});
