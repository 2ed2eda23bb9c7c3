/**
 * The Llama-style decoder's forward pass as traced ops (Touvron et al. 2023, "LLaMA",
 * sec. 2.2: pre-norm RMSNorm, SwiGLU MLP, rotary embeddings), matching
 * decoder/reference-forward.ts: same RoPE layout, GQA head mapping and norm placement.
 * Activations stay 2-D [batch*seq, hidden] so every linear layer is one GEMM.
 */
import type { DecoderConfig } from '../decoder/config';
import { layerPrefix } from '../decoder/weights';
import { causalAttention, groupedCausalMask } from './ops/attention';
import { add } from './ops/elementwise';
import { embedding } from './ops/embedding';
import { gemm, matmul } from './ops/matmul';
import { rmsNorm } from './ops/rmsnorm';
import { rotary, rotaryTables } from './ops/rotary';
import { reshape, transpose } from './ops/shape-ops';
import { swiglu } from './ops/swiglu';
import { dimProduct, type SymDim } from './shape';
import type { Tracer, Value } from './tracer';

export interface BlockContext {
  config: DecoderConfig;
  batch: SymDim;
  seqLen: number;
  /** RoPE tables [seq, headDim] and the grouped causal mask, shared by all blocks. */
  cos: Value;
  sin: Value;
  mask: Value;
}

export function blockContext(t: Tracer, config: DecoderConfig, batch: SymDim, seqLen: number): BlockContext {
  const rope = rotaryTables(seqLen, config.headDim, config.ropeTheta);
  return {
    config,
    batch,
    seqLen,
    cos: t.constant(rope.cos, [seqLen, config.headDim]),
    sin: t.constant(rope.sin, [seqLen, config.headDim]),
    mask: groupedCausalMask(t, seqLen, config.nHeads / config.nKvHeads),
  };
}

/** One pre-norm block: x + attn(norm(x)), then + mlp(norm(.)). x is [batch*seq, hidden]. */
export function decoderBlock(x: Value, layer: number, param: (name: string) => Value, ctx: BlockContext): Value {
  const { config: c, batch: B, seqLen: T } = ctx;
  const { nHeads: H, nKvHeads: Kv, headDim: hd } = c;
  const N = dimProduct([B, T]);
  const pre = layerPrefix(layer);
  // Weight `self_attn.q_proj.weight` is node `/model/layers.<i>/self_attn/q_proj/MatMul`, as Optimum names it.
  const linear = (h: Value, proj: string): Value =>
    matmul(h, param(`${pre}.${proj}.weight`), { name: `/model/layers.${layer}/${proj.replace('.', '/')}/MatMul` });
  const heads = (h: Value, n: number): Value => transpose(reshape(h, [B, T, n, hd]), [0, 2, 1, 3]);

  const h = rmsNorm(x, param(`${pre}.input_layernorm.weight`), c.normEps);
  const q = rotary(heads(linear(h, 'self_attn.q_proj'), H), ctx.cos, ctx.sin);
  const k = rotary(heads(linear(h, 'self_attn.k_proj'), Kv), ctx.cos, ctx.sin);
  const v = heads(linear(h, 'self_attn.v_proj'), Kv);
  const attn = reshape(transpose(causalAttention(q, k, v, { mask: ctx.mask }), [0, 2, 1, 3]), [N, H * hd]);
  const x1 = add(x, linear(attn, 'self_attn.o_proj'));
  const h2 = rmsNorm(x1, param(`${pre}.post_attention_layernorm.weight`), c.normEps);
  const act = swiglu(linear(h2, 'mlp.gate_proj'), linear(h2, 'mlp.up_proj'));
  return add(x1, linear(act, 'mlp.down_proj'));
}

export interface DecoderForward {
  /** [batch*seq, vocab] */
  logits: Value;
  /** Residual stream after each block, [batch*seq, hidden]. */
  blockOutputs: Value[];
}

/** ids int64 [batch, seq] -> logits, with parameters looked up by their HF names. */
export function decoderForward(t: Tracer, config: DecoderConfig, param: (name: string) => Value, ids: Value, batch: SymDim, seqLen: number): DecoderForward {
  const ctx = blockContext(t, config, batch, seqLen);
  let x = embedding(param('model.embed_tokens.weight'), reshape(ids, [dimProduct([batch, seqLen])]));
  const blockOutputs: Value[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    x = decoderBlock(x, l, param, ctx);
    blockOutputs.push(x);
  }
  const hf = rmsNorm(x, param('model.norm.weight'), config.normEps);
  // Tied head: logits = h @ E^T, a Gemm with transB instead of a transposed copy of E.
  const logits = config.tieEmbeddings
    ? gemm(hf, param('model.embed_tokens.weight'), { transB: true, name: '/lm_head/MatMul' })
    : matmul(hf, param('lm_head.weight'), { name: '/lm_head/MatMul' });
  return { logits, blockOutputs };
}
