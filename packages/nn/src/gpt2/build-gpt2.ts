/**
 * Emits GPT-2 as an ONNX model with the Optimum/HF inference interface (input_ids,
 * attention_mask, position_ids, past_key_values.* -> logits, present.*), opset 17 standard
 * ops, so the decoder session, generation and evaluation run it as they run our Llama-style
 * decoder. The math is gpt2-reference.ts's; tests hold the two together. Weights are stored
 * as the Llama-style builder stores them (weight-storage.ts).
 */
import { attr, GraphBuilder, type AttributeValue, type Model } from '@distillery/onnx';
import { MASKED_SCORE } from '../decoder/reference-forward';
import { addWeight, withSourceSizes, type WeightStorage } from '../decoder/weight-storage';
import { checkGpt2Weights, gpt2WeightShapes, parseGpt2Config, type Gpt2Config, type Gpt2Weights } from './gpt2-config';

export const GPT2_CONFIG_METADATA_KEY = 'distillery.gpt2_config';

/** The config a GPT-2 model built here carries, or undefined for other models. */
export function readGpt2Config(model: Model): Gpt2Config | undefined {
  const raw = model.metadata[GPT2_CONFIG_METADATA_KEY];
  return raw === undefined ? undefined : parseGpt2Config(JSON.parse(raw));
}

/** `storage` as for buildDecoder: float32, float16 with a Cast to float32, or sources read when written. */
export function buildGpt2(config: Gpt2Config, weights: Gpt2Weights, storage: WeightStorage = {}): Model {
  const c = parseGpt2Config(config);
  checkGpt2Weights(c, withSourceSizes(weights, storage));
  const b = new GraphBuilder('main');
  const emit = (opType: string, name: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outputs?: string[]): string[] => {
    b.node(opType, inputs, attrs, { outputs: outputs ?? [`${name}_output_0`] });
    b.graph.nodes[b.graph.nodes.length - 1]!.name = name;
    return outputs ?? [`${name}_output_0`];
  };
  const op = (opType: string, name: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outputs?: string[]): string => emit(opType, name, inputs, attrs, outputs)[0]!;
  const shapes = gpt2WeightShapes(c);
  const weight = (name: string): string => addWeight(b, name, shapes.get(name)!, weights.get(name), storage);

  const { hiddenSize: D, headDim: hd, nHeads, vocabSize: V } = c;
  const inputIds = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = b.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = b.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past = Array.from({ length: c.nLayers }, (_, i) => {
    const shape = ['batch_size', nHeads, 'past_sequence_length', hd];
    return { key: b.input(`past_key_values.${i}.key`, 'float32', shape), value: b.input(`past_key_values.${i}.value`, 'float32', shape) };
  });

  const wte = weight('transformer.wte.weight');
  const tokens = op('Gather', '/transformer/wte/Gather', [wte, inputIds], { axis: attr.int(0) });
  const positions = op('Gather', '/transformer/wpe/Gather', [weight('transformer.wpe.weight'), positionIds], { axis: attr.int(0) });
  let hidden = op('Add', '/transformer/Add', [tokens, positions]);

  // Mask [b, 1, s, T]: key t is visible to query past + i when t <= past + i and attention_mask[b, t] is 1.
  const axis1 = b.constI64([1]);
  const seqLen = op('Gather', '/transformer/mask/Gather', [op('Shape', '/transformer/mask/Shape', [inputIds]), b.constI64(1)], { axis: attr.int(0) });
  const totalLen = op('Gather', '/transformer/mask/Gather_1', [op('Shape', '/transformer/mask/Shape_1', [attentionMask]), b.constI64(1)], { axis: attr.int(0) });
  const pastLen = op('Sub', '/transformer/mask/Sub', [totalLen, seqLen]);
  const one = b.constI64(1);
  const queryIdx = op('Range', '/transformer/mask/Range', [pastLen, totalLen, one]);
  const keyIdx = op('Range', '/transformer/mask/Range_1', [b.constI64(0), totalLen, one]);
  const causal = op('LessOrEqual', '/transformer/mask/LessOrEqual', [keyIdx, op('Unsqueeze', '/transformer/mask/Unsqueeze', [queryIdx, axis1])]);
  const pad = op('Unsqueeze', '/transformer/mask/Unsqueeze_1', [op('Cast', '/transformer/mask/Cast', [attentionMask], { to: attr.int(9) }), b.constI64([1, 2])]);
  const visible = op('And', '/transformer/mask/And', [causal, pad]);

  const layerNorm = (x: string, prefix: string, name: string): string =>
    op('LayerNormalization', `${name}/LayerNormalization`, [x, weight(`${prefix}.weight`), weight(`${prefix}.bias`)], { axis: attr.int(-1), epsilon: attr.float(c.normEps) });
  const linear = (x: string, prefix: string, name: string): string =>
    op('Add', `${name}/Add`, [op('MatMul', `${name}/MatMul`, [x, weight(`${prefix}.weight`)]), weight(`${prefix}.bias`)]);
  const heads = (x: string, name: string): string =>
    op('Transpose', `${name}/Transpose`, [op('Reshape', `${name}/Reshape`, [x, b.constI64([0, 0, nHeads, hd])])], { perm: attr.ints([0, 2, 1, 3]) });
  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): opset 17 has no Gelu.
  const gelu = (x: string, name: string): string => {
    const cube = op('Mul', `${name}/Mul`, [op('Pow', `${name}/Pow`, [x, b.constF32(3)]), b.constF32(0.044715)]);
    const inner = op('Mul', `${name}/Mul_1`, [op('Add', `${name}/Add`, [x, cube]), b.constF32(Math.sqrt(2 / Math.PI))]);
    const t = op('Add', `${name}/Add_1`, [op('Tanh', `${name}/Tanh`, [inner]), b.constF32(1)]);
    return op('Mul', `${name}/Mul_3`, [op('Mul', `${name}/Mul_2`, [x, b.constF32(0.5)]), t]);
  };

  for (let i = 0; i < c.nLayers; i++) {
    const w = `transformer.h.${i}`;
    const n = `/transformer/h.${i}`;
    const a = `${n}/attn`;
    const qkv = linear(layerNorm(hidden, `${w}.ln_1`, `${n}/ln_1`), `${w}.attn.c_attn`, `${a}/c_attn`);
    const [q, k, v] = emit('Split', `${a}/Split`, [qkv, b.constI64([D, D, D])], { axis: attr.int(2) }, [`${a}/Split_output_0`, `${a}/Split_output_1`, `${a}/Split_output_2`]) as [string, string, string];
    const presentK = op('Concat', `${a}/present_key/Concat`, [past[i]!.key, heads(k, `${a}/k`)], { axis: attr.int(2) }, [`present.${i}.key`]);
    const presentV = op('Concat', `${a}/present_value/Concat`, [past[i]!.value, heads(v, `${a}/v`)], { axis: attr.int(2) }, [`present.${i}.value`]);
    const kT = op('Transpose', `${a}/Transpose`, [presentK], { perm: attr.ints([0, 1, 3, 2]) });
    const scores = op('Mul', `${a}/Mul`, [op('MatMul', `${a}/MatMul`, [heads(q, `${a}/q`), kT]), b.constF32(1 / Math.sqrt(hd))]);
    // Where, not an additive -inf: 0 * -inf and -inf - -inf are NaN.
    const probs = op('Softmax', `${a}/Softmax`, [op('Where', `${a}/Where`, [visible, scores, b.constF32(MASKED_SCORE)])], { axis: attr.int(-1) });
    const ctx = op('MatMul', `${a}/MatMul_1`, [probs, presentV]);
    const merged = op('Reshape', `${a}/Reshape`, [op('Transpose', `${a}/Transpose_1`, [ctx], { perm: attr.ints([0, 2, 1, 3]) }), b.constI64([0, 0, D])]);
    hidden = op('Add', `${n}/Add`, [hidden, linear(merged, `${w}.attn.c_proj`, `${a}/c_proj`)]);
    const m = `${n}/mlp`;
    const f = gelu(linear(layerNorm(hidden, `${w}.ln_2`, `${n}/ln_2`), `${w}.mlp.c_fc`, `${m}/c_fc`), `${m}/act`);
    hidden = op('Add', `${n}/Add_1`, [hidden, linear(f, `${w}.mlp.c_proj`, `${m}/c_proj`)]);
  }
  const final = layerNorm(hidden, 'transformer.ln_f', '/transformer/ln_f');
  // The LM head is tied to the token embedding.
  op('MatMul', '/lm_head/MatMul', [final, op('Transpose', '/lm_head/Transpose', [wte], { perm: attr.ints([1, 0]) })], {}, ['logits']);

  b.output('logits', 'float32', ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < c.nLayers; i++) {
    b.output(`present.${i}.key`, 'float32', ['batch_size', nHeads, 'total_sequence_length', hd]);
    b.output(`present.${i}.value`, 'float32', ['batch_size', nHeads, 'total_sequence_length', hd]);
  }
  return b.toModel({ metadata: { [GPT2_CONFIG_METADATA_KEY]: JSON.stringify(c) } });
}
