/**
 * The inverse of buildDecoder for decoders built here: the config from the model's
 * metadata and every weight by its Hugging Face name, as float32 (float16 initializers,
 * which the builder puts behind a Cast, are widened).
 *
 * Weight-only quantized linear layers, as quantize.rtn-int8 and finetune.qat emit them
 * (a signed int8/int4 initializer -> DequantizeLinear -> MatMul), are read back too:
 * the weight is dequantized exactly as DequantizeLinear computes it, fp32(q * scale), and
 * its quantization (integers, scales, grouping, initializer names) is returned beside it
 * so a caller can train on the grid and write the integers back in place. The layer is
 * found by its MatMul's Optimum node name (`/model/layers.3/mlp/down_proj/MatMul` ->
 * `model.layers.3.mlp.down_proj.weight`). Other rewrites (MatMulNBits, asymmetric zero
 * points, factorized weights) are refused, naming the weight and the reason.
 */
import { tensorToFloat32, type Model, type Node, type Tensor } from '@distillery/onnx';
import type { DecoderConfig } from './config';
import { readDecoderConfig } from './build-decoder';
import { decoderWeightShapes, type DecoderWeights } from './weights';

/** A linear weight W [in, out] stored as symmetric integers: W = q * scale, no zero point. */
export interface WeightQuantization {
  /** Storage type of the integers. */
  dtype: 'int8' | 'int4';
  /**
   * The narrowest signed width whose range holds max |q|: a symmetric quantizer with
   * qmax = 2^(bits-1) - 1 reaches qmax in every column (or -qmax-1 when clipped).
   */
  bits: number;
  /** Input rows sharing one scale within a column; equal to `in` for one scale per output channel. */
  groupSize: number;
  /** [in / groupSize, out], row-major. */
  scales: Float32Array;
  /** [in * out] integers, row-major. */
  q: Int8Array;
  /** Largest |q| of each group ([in / groupSize, out]); 0 for an all-zero group. */
  groupMaxAbs: Int32Array;
  /** Where the model keeps them, to write new values back without touching the graph. */
  quantizedInitializer: string;
  scaleInitializer: string;
  dequantizeNode: string;
}

export interface DecoderFromModel {
  config: DecoderConfig;
  /** float32 values of every weight; quantized ones dequantized. */
  weights: DecoderWeights;
  /** The storage type of the float weights found (float16 when any weight was half). */
  weightDtype: 'float32' | 'float16';
  /** The weights stored as integers, by Hugging Face name (empty for a float model). */
  quantized: Map<string, WeightQuantization>;
}

/** float32 values of a float32/float16 initializer, never aliasing the model's bytes (the GPT-2 reader shares it). */
export function floatCopy(t: Tensor): Float32Array {
  // tensorToFloat32 copies, so the result never aliases the model's bytes.
  const raw = t.raw.byteOffset % 4 === 0 ? t.raw : new Uint8Array(t.raw);
  return tensorToFloat32({ ...t, raw });
}

/** `/model/layers.3/self_attn/q_proj/MatMul` -> `model.layers.3.self_attn.q_proj.weight`; `/lm_head/MatMul` -> `lm_head.weight`. */
export function weightNameOfMatMul(nodeName: string): string | undefined {
  const m = /^\/(.+)\/MatMul$/.exec(nodeName);
  return m ? `${m[1]!.replaceAll('/', '.')}.weight` : undefined;
}

/** max(2, ceil(log2 m) + 1): 127 or 128 -> 8, 7 or 8 -> 4, 3 or 4 -> 3, 1 or 2 -> 2. */
export function bitsForMaxAbs(m: number): number {
  return m <= 2 ? 2 : Math.ceil(Math.log2(m)) + 1;
}

/** The DequantizeLinear of each quantized weight, keyed by HF weight name, found through the MatMul it feeds (possibly via a Cast). */
function dequantizersByWeight(model: Model): Map<string, Node> {
  const producer = new Map<string, Node>();
  for (const n of model.graph.nodes) for (const o of n.outputs) producer.set(o, n);
  const out = new Map<string, Node>();
  for (const n of model.graph.nodes) {
    if (n.opType !== 'MatMul' || n.domain !== '') continue;
    let p = producer.get(n.inputs[1] ?? '');
    if (p?.opType === 'Cast') p = producer.get(p.inputs[0] ?? '');
    if (p?.opType !== 'DequantizeLinear') continue;
    const name = weightNameOfMatMul(n.name);
    if (name) out.set(name, p);
  }
  return out;
}

/** Reads one DequantizeLinear weight, or returns why it cannot. */
function readQuantized(name: string, shape: number[], dq: Node, byName: Map<string, Tensor>): { w: Float32Array; quant: WeightQuantization } | string {
  const [rows, cols] = shape as [number, number];
  const x = byName.get(dq.inputs[0] ?? '');
  const s = byName.get(dq.inputs[1] ?? '');
  if (!x || !s) return `${name} is dequantized from values that are not initializers`;
  if (x.dtype !== 'int8' && x.dtype !== 'int4') return `${name} is stored as ${x.dtype}; only signed int8/int4 with symmetric scales is read`;
  if (x.dims.length !== 2 || x.dims[0] !== rows || x.dims[1] !== cols) return `${name} has quantized shape [${x.dims.join(', ')}], expected [${rows}, ${cols}]`;
  if (s.dtype !== 'float32') return `${name} has ${s.dtype} scales, not float32`;
  const zp = dq.inputs[2] ? byName.get(dq.inputs[2]) : undefined;
  if (dq.inputs[2] && (!zp || tensorToFloat32(zp).some((v) => v !== 0))) return `${name} has a nonzero zero point (asymmetric quantization is not read)`;
  const axisAttr = dq.attributes.axis;
  const blockAttr = dq.attributes.block_size;
  const axis = axisAttr?.type === 'int' ? axisAttr.value : 1;
  const block = blockAttr?.type === 'int' ? blockAttr.value : 0;
  let groupSize: number;
  if (block > 0) {
    // Blocked: scale [in / block, out] along axis 0.
    if ((axis !== 0 && axis !== -2) || s.dims.length !== 2 || s.dims[0]! * block !== rows || s.dims[1] !== cols) {
      return `${name} has blocked scales [${s.dims.join(', ')}] on axis ${axis}, expected [${rows}/${block}, ${cols}] on axis 0`;
    }
    groupSize = block;
  } else {
    if ((axis !== 1 && axis !== -1) || s.dims.length !== 1 || s.dims[0] !== cols) {
      return `${name} has scales [${s.dims.join(', ')}] on axis ${axis}; only one scale per output channel (axis 1) or per block of input rows is read`;
    }
    groupSize = rows;
  }
  const q = Int8Array.from(tensorToFloat32(x));
  const scales = tensorToFloat32(s);
  const groups = rows / groupSize;
  const groupMaxAbs = new Int32Array(groups * cols);
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const g = Math.floor(r / groupSize);
    for (let c = 0; c < cols; c++) {
      const v = q[r * cols + c]!;
      // DequantizeLinear's float32 product.
      w[r * cols + c] = Math.fround(v * scales[g * cols + c]!);
      const a = Math.abs(v);
      if (a > groupMaxAbs[g * cols + c]!) groupMaxAbs[g * cols + c] = a;
    }
  }
  let maxAbs = 0;
  for (const a of groupMaxAbs) maxAbs = Math.max(maxAbs, a);
  const quant: WeightQuantization = {
    dtype: x.dtype,
    bits: x.dtype === 'int4' ? Math.min(4, bitsForMaxAbs(maxAbs)) : bitsForMaxAbs(maxAbs),
    groupSize,
    scales,
    q,
    groupMaxAbs,
    quantizedInitializer: x.name,
    scaleInitializer: s.name,
    dequantizeNode: dq.name,
  };
  return { w, quant };
}

export function decoderWeightsFromModel(model: Model): DecoderFromModel {
  const config = readDecoderConfig(model);
  if (!config) throw new Error('decoderWeightsFromModel: the model carries no decoder config in its metadata (not built by buildDecoder)');
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const dequantizers = dequantizersByWeight(model);
  const weights: DecoderWeights = new Map();
  const quantized = new Map<string, WeightQuantization>();
  const problems: string[] = [];
  let half = false;
  for (const [name, shape] of decoderWeightShapes(config)) {
    const t = byName.get(name);
    const dq = dequantizers.get(name);
    if (!t && dq) {
      const read = readQuantized(name, shape, dq, byName);
      if (typeof read === 'string') problems.push(read);
      else {
        weights.set(name, read.w);
        quantized.set(name, read.quant);
      }
      continue;
    }
    if (!t) {
      problems.push(`missing initializer ${name}`);
      continue;
    }
    if (t.dtype !== 'float32' && t.dtype !== 'float16') {
      problems.push(`${name} is stored as ${t.dtype}, not float32/float16`);
      continue;
    }
    if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`);
      continue;
    }
    half ||= t.dtype === 'float16';
    weights.set(name, floatCopy(t));
  }
  if (problems.length) {
    const nbits = model.graph.nodes.find((n) => n.opType === 'MatMulNBits');
    // A missing weight is most often one packed into a contrib op this reader does not decode.
    if (nbits) problems.push(`the model has MatMulNBits nodes (e.g. "${nbits.name}"), whose packed blocks are not read`);
    throw new Error(`decoderWeightsFromModel: ${problems.join('; ')}`);
  }
  return { config, weights, weightDtype: half ? 'float16' : 'float32', quantized };
}
