import { describe, expect, it } from 'vitest';
import {
  DECODER_PRESET_NAMES,
  checkWeights,
  decoderPreset,
  fromHfConfig,
  initDecoderWeights,
  parameterCount,
  parseDecoderConfig,
  toHfConfig,
} from '../src/decoder/index';

const valid = {
  arch: 'llama', vocabSize: 64, hiddenSize: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 8,
  ffnSize: 48, maxPositions: 32, tieEmbeddings: true,
};

describe('DecoderConfigSchema', () => {
  it('fills defaults for ropeTheta and normEps', () => {
    const c = parseDecoderConfig(valid);
    expect(c.ropeTheta).toBe(10000);
    expect(c.normEps).toBe(1e-5);
  });

  it('allows an attention width nHeads * headDim other than hiddenSize, as HF head_dim does (pruned heads)', () => {
    expect(parseDecoderConfig({ ...valid, headDim: 6 }).headDim).toBe(6);
  });

  it.each([
    [{ nKvHeads: 3 }, /nKvHeads: nHeads must be a multiple of nKvHeads/],
    [{ hiddenSize: 36, headDim: 9 }, /headDim: headDim must be even/],
    [{ vocabSize: 0 }, /vocabSize: vocabSize must be positive/],
    [{ nLayers: 1.5 }, /nLayers: nLayers must be an integer/],
    [{ arch: 'gpt2' }, /arch: arch must be 'llama'/],
    [{ tieEmbeddings: 'yes' }, /tieEmbeddings: tieEmbeddings must be a boolean/],
  ])('names the offending field for %o', (override, message) => {
    expect(() => parseDecoderConfig({ ...valid, ...override })).toThrow(message);
  });

  it('reports a missing field by name', () => {
    const { ffnSize: _drop, ...rest } = valid;
    expect(() => parseDecoderConfig(rest)).toThrow(/ffnSize/);
  });
});

describe('parameterCount', () => {
  it.each(DECODER_PRESET_NAMES.filter((n) => n !== 'bench-100m'))('equals the summed weight sizes of preset %s', (name) => {
    for (const tie of [false, true]) {
      const c = decoderPreset(name, { tieEmbeddings: tie });
      const w = initDecoderWeights(c, 0);
      let total = 0;
      for (const t of w.values()) total += t.length;
      expect(parameterCount(c)).toBe(total);
    }
  });

  it('puts the presets at their advertised sizes', () => {
    const ref = parameterCount(decoderPreset('ref-5m'));
    const bench = parameterCount(decoderPreset('bench-100m'));
    expect(ref).toBeGreaterThan(4.5e6);
    expect(ref).toBeLessThan(5.5e6);
    expect(bench).toBeGreaterThan(90e6);
    expect(bench).toBeLessThan(110e6);
    expect(decoderPreset('ref-5m').vocabSize).toBe(4096);
    const tiny = decoderPreset('tiny');
    expect([tiny.nLayers, tiny.nHeads, tiny.nKvHeads]).toEqual([2, 4, 2]);
  });
});

describe('initDecoderWeights', () => {
  const c = decoderPreset('tiny', { nLayers: 4, hiddenSize: 64, headDim: 16 });
  const w = initDecoderWeights(c, 7);
  const std = (a: Float32Array): number => {
    let m = 0;
    for (const v of a) m += v;
    m /= a.length;
    let s = 0;
    for (const v of a) s += (v - m) ** 2;
    return Math.sqrt(s / a.length);
  };

  it('is deterministic in the seed and differs across seeds', () => {
    const again = initDecoderWeights(c, 7);
    const other = initDecoderWeights(c, 8);
    const q = 'model.layers.0.self_attn.q_proj.weight';
    expect(again.get(q)).toEqual(w.get(q));
    expect(other.get(q)).not.toEqual(w.get(q));
  });

  it('uses std 0.02, unit norms and 1/sqrt(2L)-scaled residual projections', () => {
    expect(std(w.get('model.embed_tokens.weight')!)).toBeCloseTo(0.02, 3);
    expect(std(w.get('model.layers.1.mlp.gate_proj.weight')!)).toBeCloseTo(0.02, 3);
    const scaled = 0.02 / Math.sqrt(2 * c.nLayers);
    expect(std(w.get('model.layers.1.mlp.down_proj.weight')!)).toBeCloseTo(scaled, 3);
    expect(std(w.get('model.layers.2.self_attn.o_proj.weight')!)).toBeCloseTo(scaled, 3);
    expect(w.get('model.norm.weight')!.every((v) => v === 1)).toBe(true);
    expect(w.get('model.layers.3.input_layernorm.weight')!.every((v) => v === 1)).toBe(true);
  });
});

describe('checkWeights', () => {
  const c = decoderPreset('tiny');
  it('accepts a complete set', () => {
    expect(() => checkWeights(c, initDecoderWeights(c, 1))).not.toThrow();
  });
  it('names missing, extra and misshaped tensors', () => {
    const w = initDecoderWeights(c, 1);
    w.delete('model.layers.1.mlp.up_proj.weight');
    w.set('model.layers.0.self_attn.k_proj.weight', new Float32Array(5));
    w.set('model.layers.9.extra', new Float32Array(1));
    expect(() => checkWeights(c, w)).toThrow(/missing model\.layers\.1\.mlp\.up_proj\.weight/);
    expect(() => checkWeights(c, w)).toThrow(/model\.layers\.0\.self_attn\.k_proj\.weight has 5 values, expected \[32, 16\]/);
    expect(() => checkWeights(c, w)).toThrow(/unexpected model\.layers\.9\.extra/);
  });
  it('flags an lm_head on a tied config', () => {
    const tied = decoderPreset('tiny', { tieEmbeddings: true });
    const w = initDecoderWeights(c, 1);
    expect(() => checkWeights(tied, w)).toThrow(/unexpected lm_head\.weight \(config has tieEmbeddings: true\)/);
  });
});

describe('Hugging Face config.json', () => {
  it('round-trips through toHfConfig / fromHfConfig', () => {
    for (const name of DECODER_PRESET_NAMES) {
      const c = decoderPreset(name);
      expect(fromHfConfig(JSON.parse(JSON.stringify(toHfConfig(c))))).toEqual(c);
    }
  });

  it('writes LlamaConfig field names and token ids', () => {
    const hf = toHfConfig(decoderPreset('ref-5m'), { bosTokenId: 1, eosTokenId: 2 });
    expect(hf).toMatchObject({
      model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 256, intermediate_size: 688,
      num_attention_heads: 8, num_key_value_heads: 8, num_hidden_layers: 4, vocab_size: 4096,
      rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 512, tie_word_embeddings: false,
      bos_token_id: 1, eos_token_id: 2,
    });
  });

  it("applies LlamaConfig's defaults and refuses what the builder cannot express", () => {
    const minimal = { model_type: 'llama', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, max_position_embeddings: 128 };
    const c = fromHfConfig(minimal);
    expect([c.nKvHeads, c.headDim, c.normEps, c.tieEmbeddings]).toEqual([4, 16, 1e-6, false]);
    expect(() => fromHfConfig({ ...minimal, model_type: 'mistral' })).toThrow(/model_type/);
    expect(() => fromHfConfig({ ...minimal, rope_scaling: { type: 'linear', factor: 2 } })).toThrow(/rope_scaling/);
    expect(() => fromHfConfig({ ...minimal, num_key_value_heads: 3 })).toThrow(/nKvHeads/);
  });
});
