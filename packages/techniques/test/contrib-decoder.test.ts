/**
 * A decoder as ORT-targeted exporters write it, with com.microsoft contrib ops
 * (SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, RotaryEmbedding,
 * MultiHeadAttention or GroupQueryAttention with a KV cache), evaluates and generates as it is: its logits,
 * perplexity and greedy tokens equal those of our standard-op build of the same weights, and
 * it still runs after MatMulNBits quantization.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDecoder, createDecoderSession, decoderPreset, decoderWeightShapes, generate, initDecoderWeights, ropeTables, runDecoder, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import { attr, GraphBuilder, inspectModel, makeTensor, readModel, validate, writeModel, type Model } from '@distillery/onnx';
import { modelPerplexity } from '@distillery/eval';
import { quietContext, registry } from '../src';

const c = decoderPreset('tiny', { nLayers: 1, nKvHeads: 4 });
const w = initDecoderWeights(c, 9, 0.3);

function contribDecoder(config: DecoderConfig, weights: DecoderWeights, attention: 'mha' | 'gqa' = 'mha'): Model {
  const b = new GraphBuilder('main');
  const hd = config.headDim;
  const shapes = decoderWeightShapes(config);
  const weight = (name: string) => b.addInitializer(makeTensor(name, 'float32', shapes.get(name)!, weights.get(name)!));
  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  b.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const pos = b.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const pastK = b.input('past_key_values.0.key', 'float32', ['batch_size', config.nKvHeads, 'past_sequence_length', hd]);
  const pastV = b.input('past_key_values.0.value', 'float32', ['batch_size', config.nKvHeads, 'past_sequence_length', hd]);
  const ms = 'com.microsoft';
  const eps = { axis: attr.int(-1), epsilon: attr.float(config.normEps) };
  const emb = b.op('Gather', [weight('model.embed_tokens.weight'), ids], { axis: attr.int(0) });
  const x = b.op('SimplifiedLayerNormalization', [emb, weight('model.layers.0.input_layernorm.weight')], eps);
  const lin = (input: string, role: string) => b.op('MatMul', [input, weight(`model.layers.0.${role}.weight`)], {}, { name: `/model/layers.0/${role.replace('.', '/')}/MatMul` });
  const { cos, sin } = ropeTables(config);
  // RotaryEmbedding takes the first half of each (duplicated) table row.
  const halfRows = (t: Float32Array) => Float32Array.from({ length: config.maxPositions * (hd / 2) }, (_, i) => t[Math.floor(i / (hd / 2)) * hd + (i % (hd / 2))]!);
  b.initializer('cos_cache', 'float32', [config.maxPositions, hd / 2], halfRows(cos));
  b.initializer('sin_cache', 'float32', [config.maxPositions, hd / 2], halfRows(sin));
  const rope = (v: string) => b.op('RotaryEmbedding', [v, pos, 'cos_cache', 'sin_cache'], { num_heads: attr.int(config.nHeads), interleaved: attr.int(0) }, { domain: ms });
  const v = lin(x, 'self_attn.v_proj');
  let attn: string;
  if (attention === 'mha') {
    const q = rope(lin(x, 'self_attn.q_proj'));
    const k = rope(lin(x, 'self_attn.k_proj'));
    [attn] = b.node('MultiHeadAttention', [q, k, v, '', '', '', pastK, pastV], { num_heads: attr.int(config.nHeads), unidirectional: attr.int(1) }, { domain: ms, outputs: ['attn', 'present.0.key', 'present.0.value'] }) as [string];
  } else {
    // GroupQueryAttention rotates q and k itself and takes the lengths as int32: seqlens_k = sum(mask) - 1, total = mask width.
    const mask = 'attention_mask';
    const seqlens = b.op('Cast', [b.op('Sub', [b.op('ReduceSum', [mask, b.constI64([1])], { keepdims: attr.int(0) }), b.constI64(1)])], { to: attr.int(6) });
    const total = b.op('Cast', [b.op('Squeeze', [b.op('Slice', [b.op('Shape', [mask]), b.constI64([1]), b.constI64([2])]), b.constI64([0])])], { to: attr.int(6) });
    [attn] = b.node(
      'GroupQueryAttention',
      [lin(x, 'self_attn.q_proj'), lin(x, 'self_attn.k_proj'), v, pastK, pastV, seqlens, total, 'cos_cache', 'sin_cache'],
      { num_heads: attr.int(config.nHeads), kv_num_heads: attr.int(config.nKvHeads), do_rotary: attr.int(1), rotary_interleaved: attr.int(0) },
      { domain: ms, outputs: ['attn', 'present.0.key', 'present.0.value'] },
    ) as [string];
  }
  const o = lin(attn!, 'self_attn.o_proj');
  const [x2, , , h1] = b.node('SkipSimplifiedLayerNormalization', [o, emb, weight('model.layers.0.post_attention_layernorm.weight')], { epsilon: attr.float(config.normEps) }, { domain: ms, outputs: ['x2', 'skip_mean', 'skip_inv_std', 'h1'] });
  const gate = lin(x2!, 'mlp.gate_proj');
  const up = lin(x2!, 'mlp.up_proj');
  const down = lin(b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]), 'mlp.down_proj');
  const final = b.op('SimplifiedLayerNormalization', [b.op('Add', [h1!, down]), weight('model.norm.weight')], eps);
  b.node('MatMul', [final, weight('lm_head.weight')], {}, { outputs: ['logits'], name: '/lm_head/MatMul' });
  b.output('logits', 'float32', ['batch_size', 'sequence_length', config.vocabSize]);
  b.output('present.0.key', 'float32', ['batch_size', config.nKvHeads, 'total_sequence_length', hd]);
  b.output('present.0.value', 'float32', ['batch_size', config.nKvHeads, 'total_sequence_length', hd]);
  return b.toModel({ opsetImports: [{ domain: '', version: 17 }, { domain: ms, version: 1 }] });
}

const PROMPT = [5, 12, 40, 7, 90, 3, 61];
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

async function behaviour(model: Model): Promise<{ logits: Float32Array; greedy: number[] }> {
  const s = await createDecoderSession(model);
  try {
    return { logits: (await runDecoder(s, c, { inputIds: [PROMPT] })).logits.slice(), greedy: await generate(s, c, PROMPT, { maxNewTokens: 12 }) };
  } finally {
    await s.release();
  }
}

describe('a contrib-op decoder', () => {
  const contrib = contribDecoder(c, w);
  const standard = buildDecoder(c, w);

  it('computes our logits, greedy tokens (through its KV cache) and perplexity', async () => {
    const ops = inspectModel(contrib).opHistogram;
    expect(ops['com.microsoft.MultiHeadAttention']).toBe(1);
    expect(ops['com.microsoft.RotaryEmbedding']).toBe(2);
    const [mine, theirs] = [await behaviour(standard), await behaviour(contrib)];
    expect(maxDiff(theirs.logits, mine.logits)).toBeLessThanOrEqual(1e-4);
    expect(theirs.greedy).toEqual(mine.greedy);
    const tokens = Array.from({ length: 40 }, (_, i) => (i * 13 + 7) % c.vocabSize);
    const [p1, p2] = [await modelPerplexity(standard, tokens, { window: 16, stride: 8 }), await modelPerplexity(contrib, tokens, { window: 16, stride: 8 })];
    expect(Math.abs(p2.perplexity - p1.perplexity) / p1.perplexity).toBeLessThan(1e-4);
  });

  it('is a valid graph, and reads back the same with its weights in an external-data file', async () => {
    expect(validate(contrib)).toEqual([]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-contrib-'));
    try {
      await writeModel(contrib, path.join(dir, 'model.onnx'), { externalData: { location: 'model.onnx_data', threshold: 0 } });
      expect((await stat(path.join(dir, 'model.onnx_data'))).size).toBeGreaterThan((await stat(path.join(dir, 'model.onnx'))).size);
      const back = await readModel(path.join(dir, 'model.onnx'));
      expect(validate(back)).toEqual([]);
      const [a, b2] = [await behaviour(contrib), await behaviour(back)];
      expect(b2.logits).toEqual(a.logits);
      expect(b2.greedy).toEqual(a.greedy);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('after 4-bit MatMulNBits quantization it still evaluates and generates, close to the float model', async () => {
    const t = registry.get('quantize.rtn');
    const q = await t.apply(contrib, t.params.parse({ bits: 4, groupSize: 16, format: 'matmulnbits' }), quietContext());
    expect(inspectModel(q.model).opHistogram['com.microsoft.MatMulNBits']).toBe(8);
    const out = await behaviour(q.model);
    expect(out.greedy).toHaveLength(12);
    const ref = (await behaviour(contrib)).logits;
    const rel = (a: Float32Array) => Math.sqrt(a.reduce((n, x, i) => n + (x - ref[i]!) ** 2, 0) / ref.reduce((n, x) => n + x * x, 0));
    expect(rel(out.logits)).toBeGreaterThan(0);
    expect(rel(out.logits)).toBeLessThan(0.5);
    // At 8 bits the same path is far closer: the error is rounding, not a broken graph.
    const q8 = await t.apply(contrib, t.params.parse({ bits: 8, groupSize: 16, format: 'matmulnbits' }), quietContext());
    expect(rel((await behaviour(q8.model)).logits)).toBeLessThan(rel(out.logits) / 4);
  });

  it('quantize.rtn-int8 and prune.magnitude rewrite its float MatMuls and it still generates', async () => {
    const ref = (await behaviour(contrib)).logits;
    const rel = (a: Float32Array) => Math.sqrt(a.reduce((n, x, i) => n + (x - ref[i]!) ** 2, 0) / ref.reduce((n, x) => n + x * x, 0));
    const apply = (id: string, params: unknown) => registry.get(id).apply(contrib, registry.get(id).params.parse(params), quietContext());
    const int8 = await apply('quantize.rtn-int8', {});
    expect(int8.report).toMatchObject({ layersQuantized: 8 });
    expect(inspectModel(int8.model).opHistogram['com.microsoft.MultiHeadAttention']).toBe(1);
    const q = await behaviour(int8.model);
    expect(rel(q.logits)).toBeGreaterThan(0);
    expect(rel(q.logits)).toBeLessThan(0.05);
    const pruned = await apply('prune.magnitude', { sparsity: 0.5 });
    const p = await behaviour(pruned.model);
    expect(rel(p.logits)).toBeGreaterThan(0);
    expect(p.greedy).toHaveLength(12);
  });

  it('with GroupQueryAttention (grouped kv heads, rotary inside the op) computes our logits and greedy tokens', async () => {
    const g = decoderPreset('tiny', { nLayers: 1, headDim: 16 }); // GroupQueryAttention's rotary needs head_size % 16 == 0
    expect(g.nKvHeads).toBeLessThan(g.nHeads);
    const gw = initDecoderWeights(g, 10, 0.3);
    const gqa = contribDecoder(g, gw, 'gqa');
    expect(inspectModel(gqa).opHistogram['com.microsoft.GroupQueryAttention']).toBe(1);
    const run = async (m: Model) => {
      const sess = await createDecoderSession(m);
      try {
        return { logits: (await runDecoder(sess, g, { inputIds: [PROMPT] })).logits.slice(), greedy: await generate(sess, g, PROMPT, { maxNewTokens: 12 }) };
      } finally {
        await sess.release();
      }
    };
    const [mine, theirs] = [await run(buildDecoder(g, gw)), await run(gqa)];
    expect(maxDiff(theirs.logits, mine.logits)).toBeLessThanOrEqual(1e-4);
    expect(theirs.greedy).toEqual(mine.greedy);
  });
});
