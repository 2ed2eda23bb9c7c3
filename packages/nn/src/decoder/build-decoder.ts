/**
 * Emits the Llama-style decoder as an ONNX model with the Optimum/HF inference interface
 * (input_ids, attention_mask, position_ids, past_key_values.* -> logits, present.*), node
 * names as Optimum exports them, opset 17 standard ops plus com.microsoft RotaryEmbedding and
 * GroupQueryAttention (ONNX Runtime's CPU kernels): a batch-1 decode step spends its time in
 * the linear layers, not in dozens of small attention kernels per layer. The math is the one
 * in reference-forward.ts; tests hold the two together.
 */
import { attr, GraphBuilder, makeTensor, MS_DOMAIN, type AttributeValue, type Model } from '@distillery/onnx';
import { parseDecoderConfig, type DecoderConfig } from './config';
import { MASKED_SCORE } from './reference-forward';
import { checkWeights, decoderWeightShapes, layerPrefix, type DecoderWeights } from './weights';
import { addWeight, withSourceSizes, type WeightStorage } from './weight-storage';

/** Weight storage: float32, float16 (Cast to float32 at run time) or sources read when written. */
export type BuildDecoderOptions = WeightStorage;

export const DECODER_CONFIG_METADATA_KEY = 'distillery.decoder_config';

/** model.metadata entries that let a model file describe its own architecture. */
export function decoderMetadata(c: DecoderConfig): Record<string, string> {
  return { [DECODER_CONFIG_METADATA_KEY]: JSON.stringify(c) };
}

/** The config a model built here carries, or undefined for models from elsewhere. */
export function readDecoderConfig(model: Model): DecoderConfig | undefined {
  const raw = model.metadata[DECODER_CONFIG_METADATA_KEY];
  if (raw === undefined) return undefined;
  return parseDecoderConfig(JSON.parse(raw));
}

/** cos/sin of pos * theta^(-2i/hd), i duplicated over both halves, as [maxPositions, hd] tables. */
export function ropeTables(c: DecoderConfig): { cos: Float32Array; sin: Float32Array } {
  const hd = c.headDim;
  const half = hd / 2;
  const cos = new Float32Array(c.maxPositions * hd);
  const sin = new Float32Array(c.maxPositions * hd);
  for (let p = 0; p < c.maxPositions; p++) {
    for (let j = 0; j < hd; j++) {
      const angle = p * Math.pow(c.ropeTheta, (-2 * (j % half)) / hd);
      cos[p * hd + j] = Math.cos(angle);
      sin[p * hd + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** One layer's attention: q, k, v [b, s, heads * hd] in, [b, s, nHeads * hd] out, present.i.* written. */
interface Attention {
  layer(q: string, k: string, v: string, layer: number, prefix: string): string;
}

/**
 * Whether attention is one com.microsoft GroupQueryAttention per layer: ONNX Runtime's CPU
 * kernel refuses head sizes that are not a multiple of 8, which get standard ops instead.
 */
export function usesFusedAttention(c: DecoderConfig): boolean {
  return c.headDim % 8 === 0;
}

/** The first hd / 2 columns of a [rows, hd] table. */
function halfRows(t: Float32Array, rows: number, hd: number): Float32Array {
  const half = hd / 2;
  const out = new Float32Array(rows * half);
  for (let p = 0; p < rows; p++) out.set(t.subarray(p * hd, p * hd + half), p * half);
  return out;
}

export function buildDecoder(config: DecoderConfig, weights: DecoderWeights, opts: BuildDecoderOptions = {}): Model {
  const c = parseDecoderConfig(config);
  checkWeights(c, withSourceSizes(weights, opts));
  const b = new GraphBuilder('main');
  const nodeNames = new Set<string>();

  /** One node with an exact Optimum-style name; outputs are `<name>_output_k` unless given. */
  const emit = (opType: string, name: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outputs?: string[], domain = ''): string => {
    if (nodeNames.has(name)) throw new Error(`duplicate node name ${name}`);
    nodeNames.add(name);
    b.node(opType, inputs, attrs, { outputs: outputs ?? [`${name}_output_0`], domain });
    b.graph.nodes[b.graph.nodes.length - 1]!.name = name;
    return outputs?.[0] ?? `${name}_output_0`;
  };

  const shapes = decoderWeightShapes(c);
  const weight = (name: string): string => addWeight(b, name, shapes.get(name)!, weights.get(name), opts);

  const { headDim: hd, nHeads, nKvHeads, vocabSize: V } = c;
  const half = hd / 2;
  const fusedAttention = usesFusedAttention(c);

  const inputIds = b.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const attentionMask = b.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const positionIds = b.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const pastNames: { key: string; value: string }[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const shape = ['batch_size', nKvHeads, 'past_sequence_length', hd];
    pastNames.push({
      key: b.input(`past_key_values.${i}.key`, 'float32', shape),
      value: b.input(`past_key_values.${i}.value`, 'float32', shape),
    });
  }

  const embedW = weight('model.embed_tokens.weight');
  let hidden = emit('Gather', '/model/embed_tokens/Gather', [embedW, inputIds], { axis: attr.int(0) });

  // RoPE tables as com.microsoft RotaryEmbedding reads them: [maxPositions, hd / 2], the
  // first half of each duplicated row; the kernel indexes them by position_ids itself.
  const tables = ropeTables(c);
  b.addInitializer(makeTensor('cos_cached', 'float32', [c.maxPositions, half], halfRows(tables.cos, c.maxPositions, hd)));
  b.addInitializer(makeTensor('sin_cached', 'float32', [c.maxPositions, half], halfRows(tables.sin, c.maxPositions, hd)));
  const axis1 = b.constI64([1]);

  // Mask [b, 1, s, T]: key index t is visible to query index past + i when t <= past + i
  // (causal by cache index, as HF does) and attention_mask[b, t] is 1.
  const seqLen = emit('Gather', '/model/mask/Gather', [emit('Shape', '/model/mask/Shape', [inputIds]), b.constI64(1)], { axis: attr.int(0) });
  const totalLen = emit('Gather', '/model/mask/Gather_1', [emit('Shape', '/model/mask/Shape_1', [attentionMask]), b.constI64(1)], { axis: attr.int(0) });
  const pastLen = emit('Sub', '/model/mask/Sub', [totalLen, seqLen]);
  const one = b.constI64(1);
  const queryIdx = emit('Range', '/model/mask/Range', [pastLen, totalLen, one]);
  const keyIdx = emit('Range', '/model/mask/Range_1', [b.constI64(0), totalLen, one]);
  const causal = emit('LessOrEqual', '/model/mask/LessOrEqual', [keyIdx, emit('Unsqueeze', '/model/mask/Unsqueeze', [queryIdx, axis1])]);
  const padBool = emit('Cast', '/model/mask/Cast', [attentionMask], { to: attr.int(9) });
  const pad = emit('Unsqueeze', '/model/mask/Unsqueeze_1', [padBool, b.constI64([1, 2])]);
  const visible = emit('And', '/model/mask/And', [causal, pad]);
  const masked = b.constF32(MASKED_SCORE);
  // com.microsoft RotaryEmbedding (rotate_half layout, interleaved 0), positions from position_ids:
  // on [b, s, heads * hd] it needs num_heads, on [b, heads, s, hd] it reads them from the shape.
  const rotary = (x: string, prefix: string, numHeads?: number): string =>
    emit('RotaryEmbedding', `${prefix}/RotaryEmbedding`, [x, positionIds, 'cos_cached', 'sin_cached'], { interleaved: attr.int(0), ...(numHeads ? { num_heads: attr.int(numHeads) } : {}) }, undefined, MS_DOMAIN);
  const attention = fusedAttention ? gqaInputs() : standardInputs();
  const two = b.constF32(2);

  /** Per-step inputs of the fused path, and one GroupQueryAttention per layer. */
  function gqaInputs(): Attention {
    // As an additive bias on the scores: MASKED_SCORE is finite, so a masked score stays finite
    // (score + MASKED_SCORE rounds to MASKED_SCORE) and its softmax weight is exactly 0.
    const maskBias = emit('Where', '/model/mask/Where', [visible, b.constF32(0), masked]);
    // Every sequence holds all T cache slots (padding is in maskBias): seqlens_k = T - 1 for
    // each row of the batch, total_sequence_length = T, both int32.
    const batchDim = emit('Slice', '/model/mask/Slice', [emit('Shape', '/model/mask/Shape_2', [inputIds]), b.constI64([0]), b.constI64([1])]);
    const lastIdx = emit('Expand', '/model/mask/Expand', [emit('Sub', '/model/mask/Sub_1', [totalLen, one]), batchDim]);
    const seqlensK = emit('Cast', '/model/mask/Cast_1', [lastIdx], { to: attr.int(6) });
    const totalI32 = emit('Cast', '/model/mask/Cast_2', [totalLen], { to: attr.int(6) });
    // RoPE by RotaryEmbedding on [b, s, heads * hd]: GroupQueryAttention's own rotary (do_rotary)
    // takes positions from the cache length on CPU, not from position_ids, which padded rows need.
    // The cache concat, scores, mask, softmax and the weighted sum of V in one kernel that reads
    // each kv head once for its group of query heads; q, k, v and the output stay
    // [b, s, heads * hd], the cache keeps the [b, kv, T, hd] layout of past/present.
    return {
      layer: (q, k, v, i, a) =>
        emit(
          'GroupQueryAttention',
          `${a}/GroupQueryAttention`,
          [rotary(q, `${a}/q_rope`, nHeads), rotary(k, `${a}/k_rope`, nKvHeads), v, pastNames[i]!.key, pastNames[i]!.value, seqlensK, totalI32, '', '', '', maskBias],
          { num_heads: attr.int(nHeads), kv_num_heads: attr.int(nKvHeads), scale: attr.float(1 / Math.sqrt(hd)) },
          [`${a}/GroupQueryAttention_output_0`, `present.${i}.key`, `present.${i}.value`],
          MS_DOMAIN,
        ),
    };
  }

  /** Standard ops (and RotaryEmbedding) for head sizes ORT's CPU GroupQueryAttention refuses. */
  function standardInputs(): Attention {
    const group = nHeads / nKvHeads;
    // GQA: the group query heads of one kv head attend as group * s rows of one batched MatMul
    // (row g * s + i is query i of head kv * group + g), so the mask's s rows repeat group times, once per step.
    const visibleRows = group === 1 ? visible : emit('Tile', '/model/mask/Tile', [visible, b.constI64([1, 1, group, 1])]);
    const heads = (x: string, n: number, prefix: string): string => {
      const r = emit('Reshape', `${prefix}/Reshape`, [x, b.constI64([0, 0, n, hd])]);
      return emit('Transpose', `${prefix}/Transpose`, [r], { perm: attr.ints([0, 2, 1, 3]) });
    };
    // x * cos + rotate_half(x) * sin on [b, heads, s, hd] in one kernel instead of Slice, Neg,
    // Concat, Mul, Mul, Add for q and for k in every layer.
    // [b, nHeads, s, hd] <-> [b, kv, group * s, hd]: K and V are read once per kv head, never expanded.
    const groupRows = (x: string, prefix: string): string =>
      group === 1 ? x : emit('Reshape', `${prefix}/Reshape`, [x, b.constI64([0, nKvHeads, -1, hd])]);
    const headRows = (x: string, prefix: string): string =>
      group === 1 ? x : emit('Reshape', `${prefix}/Reshape`, [x, b.constI64([0, nHeads, -1, hd])]);
    return {
      layer: (q, k, v, i, a) => {
        const qr = rotary(heads(q, nHeads, `${a}/q`), `${a}/q_rope`);
        const kr = rotary(heads(k, nKvHeads, `${a}/k`), `${a}/k_rope`);
        const vh = heads(v, nKvHeads, `${a}/v`);
        const presentK = emit('Concat', `${a}/present_key/Concat`, [pastNames[i]!.key, kr], { axis: attr.int(2) }, [`present.${i}.key`]);
        const presentV = emit('Concat', `${a}/present_value/Concat`, [pastNames[i]!.value, vh], { axis: attr.int(2) }, [`present.${i}.value`]);
        const kT = emit('Transpose', `${a}/Transpose`, [presentK], { perm: attr.ints([0, 1, 3, 2]) });
        const scores = emit('Mul', `${a}/Mul`, [emit('MatMul', `${a}/MatMul`, [groupRows(qr, `${a}/q_group`), kT]), b.constF32(1 / Math.sqrt(hd))]);
        // Where, not an additive -inf: 0 * -inf and -inf - -inf are NaN.
        const probs = emit('Softmax', `${a}/Softmax`, [emit('Where', `${a}/Where`, [visibleRows, scores, masked])], { axis: attr.int(-1) });
        const ctx = headRows(emit('MatMul', `${a}/MatMul_1`, [probs, presentV]), `${a}/ctx_heads`);
        return emit('Reshape', `${a}/Reshape`, [
          emit('Transpose', `${a}/Transpose_1`, [ctx], { perm: attr.ints([0, 2, 1, 3]) }),
          b.constI64([0, 0, nHeads * hd]),
        ]);
      },
    };
  }

  // Pow(x, 2) rather than x * x: ONNX Runtime fuses Pow-ReduceMean-Add-Sqrt-Div-Mul into one
  // SimplifiedLayerNormalization kernel (five fewer kernel launches per norm in every decode step).
  const rmsNorm = (x: string, g: string, prefix: string): string => {
    const sq = emit('Pow', `${prefix}/Pow`, [x, two]);
    const mean = emit('ReduceMean', `${prefix}/ReduceMean`, [sq], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    const std = emit('Sqrt', `${prefix}/Sqrt`, [emit('Add', `${prefix}/Add`, [mean, b.constF32(c.normEps)])]);
    return emit('Mul', `${prefix}/Mul_1`, [emit('Div', `${prefix}/Div`, [x, std]), g]);
  };
  for (let i = 0; i < c.nLayers; i++) {
    const w = layerPrefix(i);
    const n = `/model/layers.${i}`;
    const x = rmsNorm(hidden, weight(`${w}.input_layernorm.weight`), `${n}/input_layernorm`);
    const a = `${n}/self_attn`;
    const projection = (role: 'q' | 'k' | 'v'): string => {
      const y = emit('MatMul', `${a}/${role}_proj/MatMul`, [x, weight(`${w}.self_attn.${role}_proj.weight`)]);
      return c.qkvBias ? emit('Add', `${a}/${role}_proj/Add`, [y, weight(`${w}.self_attn.${role}_proj.bias`)]) : y;
    };
    const q = projection('q');
    const k = projection('k');
    const v = projection('v');
    const merged = attention.layer(q, k, v, i, a);
    const o = emit('MatMul', `${a}/o_proj/MatMul`, [merged, weight(`${w}.self_attn.o_proj.weight`)]);
    hidden = emit('Add', `${n}/Add`, [hidden, o]);

    const m = `${n}/mlp`;
    const x2 = rmsNorm(hidden, weight(`${w}.post_attention_layernorm.weight`), `${n}/post_attention_layernorm`);
    const gate = emit('MatMul', `${m}/gate_proj/MatMul`, [x2, weight(`${w}.mlp.gate_proj.weight`)]);
    const act = emit('Mul', `${m}/act_fn/Mul`, [gate, emit('Sigmoid', `${m}/act_fn/Sigmoid`, [gate])]);
    const up = emit('MatMul', `${m}/up_proj/MatMul`, [x2, weight(`${w}.mlp.up_proj.weight`)]);
    const down = emit('MatMul', `${m}/down_proj/MatMul`, [emit('Mul', `${m}/Mul`, [act, up]), weight(`${w}.mlp.down_proj.weight`)]);
    hidden = emit('Add', `${n}/Add_1`, [hidden, down]);
  }

  const final = rmsNorm(hidden, weight('model.norm.weight'), '/model/norm');
  const head = c.tieEmbeddings
    ? emit('Transpose', '/lm_head/Transpose', [embedW], { perm: attr.ints([1, 0]) })
    : weight('lm_head.weight');
  emit('MatMul', '/lm_head/MatMul', [final, head], {}, ['logits']);

  b.output('logits', 'float32', ['batch_size', 'sequence_length', V]);
  for (let i = 0; i < c.nLayers; i++) {
    b.output(`present.${i}.key`, 'float32', ['batch_size', nKvHeads, 'total_sequence_length', hd]);
    b.output(`present.${i}.value`, 'float32', ['batch_size', nKvHeads, 'total_sequence_length', hd]);
  }
  return b.toModel({ metadata: decoderMetadata(c), opsetImports: [{ domain: '', version: 17 }, { domain: MS_DOMAIN, version: 1 }] });
}
