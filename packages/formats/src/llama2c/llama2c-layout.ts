/**
 * The llama2.c checkpoint layout (karpathy/llama2.c run.c, `read_checkpoint` and
 * `memory_map_weights`): seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len; a negative vocab_size means the classifier is stored apart from the
 * embedding), then float32 arrays in a fixed order, each layer's matrices stacked and stored
 * [out, in], with two unused RoPE tables before the classifier.
 */
import { parseDecoderConfig, type DecoderConfig } from '@distillery/nn';

export const LLAMA2C_HEADER_BYTES = 28;
export const LLAMA2C_HEADER_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;

/** One stored array: which of our weights it holds per layer (or once), and its per-item shape as stored. */
export interface Llama2cBlock {
  readonly name: string;
  /** Our weight name; `{i}` is the layer. null for the RoPE tables run.c skips. */
  readonly weight: string | null;
  readonly perLayer: boolean;
  /** Shape of one item as stored, [out, in] for matrices. */
  readonly stored: readonly number[];
}

export function llama2cBlocks(c: DecoderConfig): Llama2cBlock[] {
  const D = c.hiddenSize;
  const kv = c.nKvHeads * c.headDim;
  const L = (name: string, weight: string, stored: number[]): Llama2cBlock => ({ name, weight: `model.layers.{i}.${weight}`, perLayer: true, stored });
  const blocks: Llama2cBlock[] = [
    { name: 'token_embedding_table', weight: 'model.embed_tokens.weight', perLayer: false, stored: [c.vocabSize, D] },
    L('rms_att_weight', 'input_layernorm.weight', [D]),
    L('wq', 'self_attn.q_proj.weight', [c.nHeads * c.headDim, D]),
    L('wk', 'self_attn.k_proj.weight', [kv, D]),
    L('wv', 'self_attn.v_proj.weight', [kv, D]),
    L('wo', 'self_attn.o_proj.weight', [D, c.nHeads * c.headDim]),
    L('rms_ffn_weight', 'post_attention_layernorm.weight', [D]),
    L('w1', 'mlp.gate_proj.weight', [c.ffnSize, D]),
    L('w2', 'mlp.down_proj.weight', [D, c.ffnSize]),
    L('w3', 'mlp.up_proj.weight', [c.ffnSize, D]),
    { name: 'rms_final_weight', weight: 'model.norm.weight', perLayer: false, stored: [D] },
    { name: 'freq_cis_real', weight: null, perLayer: false, stored: [c.maxPositions, c.headDim / 2] },
    { name: 'freq_cis_imag', weight: null, perLayer: false, stored: [c.maxPositions, c.headDim / 2] },
  ];
  if (!c.tieEmbeddings) blocks.push({ name: 'wcls', weight: 'lm_head.weight', perLayer: false, stored: [c.vocabSize, D] });
  return blocks;
}

export const blockElements = (c: DecoderConfig, b: Llama2cBlock): number => b.stored.reduce((n, d) => n * d, 1) * (b.perLayer ? c.nLayers : 1);

/** run.c's fixed hyperparameters: RoPE base 10000, RMSNorm epsilon 1e-5, head size dim / n_heads. */
export function llama2cConfig(header: Readonly<Record<(typeof LLAMA2C_HEADER_FIELDS)[number], number>>): DecoderConfig {
  return parseDecoderConfig({
    arch: 'llama',
    vocabSize: Math.abs(header.vocab_size),
    hiddenSize: header.dim,
    nLayers: header.n_layers,
    nHeads: header.n_heads,
    nKvHeads: header.n_kv_heads,
    headDim: header.dim / header.n_heads,
    ffnSize: header.hidden_dim,
    maxPositions: header.seq_len,
    ropeTheta: 10000,
    normEps: 1e-5,
    tieEmbeddings: header.vocab_size > 0,
  });
}
