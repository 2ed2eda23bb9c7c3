/**
 * The `llama` architecture's tensors in GGUF: names as llama.cpp's converter writes them
 * (token_embd, blk.N.attn_q, ..., output), the ggml layout (rows are output features, so
 * our [in, out] linear weights are transposed), and the q/k row order. llama.cpp applies
 * rotary embedding to adjacent pairs (x_2i, x_2i+1) while Hugging Face's weights pair
 * (x_i, x_i+hd/2); its converter reorders each head's rows (rotary-layout.ts). Pure functions.
 */
import { decoderWeightShapes, type DecoderConfig } from '@distillery/nn';
import { halvesRow } from '../rotary-layout';

/** Hugging Face weight name -> GGUF tensor name. */
export function ggufTensorName(hfName: string): string {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.weight$/.exec(hfName);
  const part = m ? LAYER_PARTS[m[2]!] : undefined;
  if (!m || !part) throw new Error(`no GGUF name for weight ${hfName}`);
  return `blk.${m[1]}.${part}.weight`;
}

const LAYER_PARTS: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
};

/** The heads a q or k projection's rows are permuted over, or 0 for other weights. */
function rotaryHeads(hfName: string, c: DecoderConfig): number {
  if (hfName.endsWith('self_attn.q_proj.weight')) return c.nHeads;
  if (hfName.endsWith('self_attn.k_proj.weight')) return c.nKvHeads;
  return 0;
}

function isTransposed(hfName: string): boolean {
  return hfName !== 'model.embed_tokens.weight' && !hfName.endsWith('norm.weight');
}

/** GGUF name, ggml dims and row-major ggml data of one of our weights. */
export function toGgufTensor(hfName: string, w: Float32Array, c: DecoderConfig): { name: string; ne: number[]; data: Float32Array } {
  const shape = decoderWeightShapes(c).get(hfName);
  if (!shape) throw new Error(`${hfName} is not a weight of this decoder`);
  const name = ggufTensorName(hfName);
  if (shape.length === 1) return { name, ne: [shape[0]!], data: w };
  if (!isTransposed(hfName)) return { name, ne: [shape[1]!, shape[0]!], data: w };
  const [rows, cols] = shape as [number, number]; // ours: [in, out]
  const heads = rotaryHeads(hfName, c);
  const out = new Float32Array(rows * cols);
  for (let o = 0; o < cols; o++) {
    const src = heads ? halvesRow(o, c.headDim) : o;
    for (let i = 0; i < rows; i++) out[o * rows + i] = w[i * cols + src]!;
  }
  return { name, ne: [rows, cols], data: out };
}

/** Inverse of toGgufTensor: our [in, out] values (float32, or float16 bits moved as they are) from ggml row-major data. */
export function fromGgufTensor(hfName: string, data: Float32Array, c: DecoderConfig): Float32Array;
export function fromGgufTensor(hfName: string, data: Uint16Array, c: DecoderConfig): Uint16Array;
export function fromGgufTensor(hfName: string, data: Float32Array | Uint16Array, c: DecoderConfig): Float32Array | Uint16Array {
  const shape = decoderWeightShapes(c).get(hfName);
  if (!shape) throw new Error(`${hfName} is not a weight of this decoder`);
  if (shape.length === 1 || !isTransposed(hfName)) return data;
  const [rows, cols] = shape as [number, number];
  const heads = rotaryHeads(hfName, c);
  const out = data instanceof Float32Array ? new Float32Array(rows * cols) : new Uint16Array(rows * cols);
  for (let o = 0; o < cols; o++) {
    const src = heads ? halvesRow(o, c.headDim) : o;
    for (let i = 0; i < rows; i++) out[i * cols + src] = data[o * rows + i]!;
  }
  return out;
}

/** ggml dims a weight of this decoder has in the file (ne[0] innermost). */
export function expectedGgufDims(hfName: string, c: DecoderConfig): number[] {
  const shape = decoderWeightShapes(c).get(hfName);
  if (!shape) throw new Error(`${hfName} is not a weight of this decoder`);
  if (shape.length === 1) return [shape[0]!];
  // Ours [in, out] is ggml's [out rows of in values]; the embedding [vocab, D] is stored as is.
  return isTransposed(hfName) ? [shape[0]!, shape[1]!] : [shape[1]!, shape[0]!];
}
