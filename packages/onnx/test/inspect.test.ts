// Model inspection: counts checked by hand on small graphs; linear-layer roles and blocks
// from the naming schemes of Optimum exports and HF checkpoints (Llama, GPT-2, Phi, NeoX).
import { describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  attr,
  blockFromName,
  inspectModel,
  makeTensor,
  pack4Bit,
  roleFromName,
  type LinearLayer,
} from '../src/index';

const D = 4;
const F = 6;
const V = 10;

/** Two Llama blocks with Optimum node names, GQA k/v (2 of 4 dims), tied LM head through Transpose. */
function llama() {
  const b = new GraphBuilder('llama');
  const w = (name: string, dims: number[]) => b.initializer(name, 'float32', dims, new Float32Array(dims[0]! * (dims[1] ?? 1)));
  w('model.embed_tokens.weight', [V, D]);
  const ids = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  let h = b.op('Gather', ['model.embed_tokens.weight', ids], {}, { name: '/model/embed_tokens/Gather' });
  for (let i = 0; i < 2; i++) {
    const p = `model.layers.${i}`;
    const n = `/model/layers.${i}`;
    w(`${p}.input_layernorm.weight`, [D]);
    const q = b.op('MatMul', [h, w(`${p}.self_attn.q_proj.weight`, [D, D])], {}, { name: `${n}/self_attn/q_proj/MatMul` });
    const k = b.op('MatMul', [h, w(`${p}.self_attn.k_proj.weight`, [D, 2])], {}, { name: `${n}/self_attn/k_proj/MatMul` });
    b.op('MatMul', [h, w(`${p}.self_attn.v_proj.weight`, [D, 2])], {}, { name: `${n}/self_attn/v_proj/MatMul` });
    // Activation x activation: attention scores are not a linear layer.
    b.op('MatMul', [q, b.op('Transpose', [k])], {}, { name: `${n}/self_attn/MatMul` });
    const o = b.op('MatMul', [q, w(`${p}.self_attn.o_proj.weight`, [D, D])], {}, { name: `${n}/self_attn/o_proj/MatMul` });
    const g = b.op('MatMul', [o, w(`${p}.mlp.gate_proj.weight`, [D, F])], {}, { name: `${n}/mlp/gate_proj/MatMul` });
    const u = b.op('MatMul', [o, w(`${p}.mlp.up_proj.weight`, [D, F])], {}, { name: `${n}/mlp/up_proj/MatMul` });
    h = b.op('MatMul', [b.op('Mul', [g, u]), w(`${p}.mlp.down_proj.weight`, [F, D])], {}, { name: `${n}/mlp/down_proj/MatMul` });
  }
  const tied = b.op('Transpose', ['model.embed_tokens.weight'], { perm: attr.ints([1, 0]) });
  b.output(b.op('MatMul', [h, tied], {}, { name: '/lm_head/MatMul', output: 'logits' }), 'float32');
  return b.toModel();
}

const brief = (l: LinearLayer) => [l.role, l.block, l.inFeatures, l.outFeatures];

describe('inspectModel', () => {
  it('counts parameters, bytes and ops, and finds every projection of a Llama export', () => {
    const r = inspectModel(llama());
    const perBlock = D + D * D + D * 2 + D * 2 + D * D + D * F * 2 + F * D;
    expect(r.parameterCount).toBe(V * D + 2 * perBlock);
    expect(r.totalBytes).toBe(4 * r.parameterCount);
    expect(r.bytesByDtype).toEqual({ float32: 4 * r.parameterCount });
    expect(r.opHistogram).toEqual({ Gather: 1, MatMul: 17, Transpose: 3, Mul: 2 });
    expect(r.linearLayers.map(brief)).toEqual([
      ['q', 0, D, D], ['k', 0, D, 2], ['v', 0, D, 2], ['o', 0, D, D], ['gate', 0, D, F], ['up', 0, D, F], ['down', 0, F, D],
      ['q', 1, D, D], ['k', 1, D, 2], ['v', 1, D, 2], ['o', 1, D, D], ['gate', 1, D, F], ['up', 1, D, F], ['down', 1, F, D],
      ['lm_head', null, D, V],
    ]);
    const head = r.linearLayers.at(-1)!;
    expect(head.weight).toBe('model.embed_tokens.weight');
    expect(r.blocks.map((b) => [b.block, b.linearLayers.length, b.weightCount])).toEqual([
      [0, 7, perBlock - D],
      [1, 7, perBlock - D],
    ]);
  });

  it('reads role and block from weight names when node names say nothing', () => {
    const b = new GraphBuilder('anon');
    const x = b.input('x', 'float32', [1, D]);
    b.initializer('model.layers.7.self_attn.k_proj.weight', 'float32', [D, 2], new Float32Array(D * 2));
    b.output(b.op('MatMul', [x, 'model.layers.7.self_attn.k_proj.weight']), 'float32');
    const [l] = inspectModel(b.toModel()).linearLayers;
    expect(l!.node).toBe('MatMul/node');
    expect(brief(l!)).toEqual(['k', 7, D, 2]);
  });

  it('sees through DequantizeLinear, Transpose and Cast, and reads MatMulNBits and MatMulInteger', () => {
    const b = new GraphBuilder('quant');
    const x = b.input('x', 'float32', [1, D]);
    // int4 weight [D, F] dequantized per tensor.
    b.addInitializer(makeTensor('model.layers.0.mlp.up_proj.weight_q', 'int4', [D, F], pack4Bit(new Array(D * F).fill(1), true)));
    const deq = b.op('DequantizeLinear', ['model.layers.0.mlp.up_proj.weight_q', b.constF32(0.1)]);
    b.op('MatMul', [x, deq], {}, { name: '/model/layers.0/mlp/up_proj/MatMul' });
    // float16 weight stored [out, in], cast then used by Gemm with transB.
    b.initializer('transformer.h.2.mlp.c_fc.weight', 'float16', [F, D], new Uint16Array(F * D));
    const cast = b.op('Cast', ['transformer.h.2.mlp.c_fc.weight'], { to: attr.int(1) });
    b.op('Gemm', [x, cast], { transB: attr.int(1) }, { name: '/transformer/h.2/mlp/c_fc/Gemm' });
    // A weight transposed by a node: stored [F, D], used as [D, F].
    b.initializer('w_t', 'float32', [F, D], new Float32Array(F * D));
    b.op('MatMul', [x, b.op('Transpose', ['w_t'])], {}, { name: '/model/layers.3/mlp/gate_proj/MatMul' });
    // 4-bit MatMulNBits: B is uint8 [N, blocks, blob], K and N from attributes.
    b.initializer('nb_w', 'uint8', [F, 1, 16], new Uint8Array(F * 16));
    b.node('MatMulNBits', [x, 'nb_w', b.constF32(new Array(F).fill(1), [F])], { K: attr.int(D), N: attr.int(F), bits: attr.int(4), block_size: attr.int(32) }, { domain: 'com.microsoft', name: '/model/layers.1/self_attn/v_proj/MatMulNBits' });
    b.initializer('mi_w', 'int8', [D, F], new Int8Array(D * F));
    b.op('MatMulInteger', [b.op('Cast', [x], { to: attr.int(3) }), 'mi_w'], {}, { name: '/model/layers.1/mlp/down_proj/MatMulInteger' });
    const r = inspectModel(b.toModel());
    expect(r.linearLayers.map((l) => [l.opType, l.role, l.block, l.inFeatures, l.outFeatures, l.dtype, l.bits])).toEqual([
      ['MatMul', 'up', 0, D, F, 'int4', 4],
      ['Gemm', 'up', 2, D, F, 'float16', 16],
      ['MatMul', 'gate', 3, D, F, 'float32', 32],
      ['MatMulNBits', 'v', 1, D, F, 'uint8', 4],
      ['MatMulInteger', 'down', 1, D, F, 'int8', 8],
    ]);
    expect(r.bytesByDtype.int4).toBe((D * F) / 2);
    expect(r.opHistogram['com.microsoft.MatMulNBits']).toBe(1);
    // 4-bit weights count per element, not per byte.
    expect(r.parameterCount).toBe(D * F + 1 + F * D + F * D + F * 16 + F + D * F);
  });

  it('names roles and blocks across model families', () => {
    const cases: [string, string, number | null][] = [
      ['/model/layers.3/self_attn/q_proj/MatMul', 'q', 3],
      ['model.layers.12.self_attn.o_proj.weight', 'o', 12],
      ['/transformer/h.3/attn/c_attn/Gemm', 'qkv', 3],
      ['/transformer/h.3/attn/c_proj/Gemm', 'o', 3],
      ['/transformer/h.3/mlp/c_fc/Gemm', 'up', 3],
      ['transformer.h.11.mlp.c_proj.weight', 'down', 11],
      ['model.layers.0.self_attn.qkv_proj.weight', 'qkv', 0], // Phi-3
      ['model.layers.0.mlp.gate_up_proj.weight', 'gate_up', 0],
      ['model.layers.5.self_attn.dense.weight', 'o', 5], // Phi-2
      ['model.layers.5.mlp.fc1.weight', 'up', 5],
      ['model.layers.5.mlp.fc2.weight', 'down', 5],
      ['gpt_neox.layers.2.attention.query_key_value.weight', 'qkv', 2],
      ['gpt_neox.layers.2.mlp.dense_4h_to_h.weight', 'down', 2],
      ['layers.4.attention.wk.weight', 'k', 4], // Meta Llama checkpoints
      ['layers.4.feed_forward.w1.weight', 'gate', 4],
      ['/lm_head/MatMul', 'lm_head', null],
      ['embed_out.weight', 'lm_head', null],
      ['/model/layers.1/self_attn/MatMul', 'other', 1],
      ['past_key_values.3.key', 'other', null],
    ];
    expect(cases.map(([n]) => [n, roleFromName(n), blockFromName(n)])).toEqual(cases);
  });
});
