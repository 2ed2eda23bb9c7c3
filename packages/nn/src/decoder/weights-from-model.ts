/**
 * The inverse of buildDecoder for decoders built here: the config from the model's
 * metadata and every weight by its Hugging Face name, as float32 (float16 initializers,
 * which the builder puts behind a Cast, are widened). Models whose weights were rewritten
 * (quantized, factorized) no longer hold these initializers and are refused by name.
 */
import { tensorToFloat32, type Model, type Tensor } from '@distillery/onnx';
import type { DecoderConfig } from './config';
import { readDecoderConfig } from './build-decoder';
import { decoderWeightShapes, type DecoderWeights } from './weights';

export interface DecoderFromModel {
  config: DecoderConfig;
  weights: DecoderWeights;
  /** The storage type of the weights found (float16 when any weight was half). */
  weightDtype: 'float32' | 'float16';
}

function floatCopy(t: Tensor): Float32Array {
  // tensorToFloat32 copies, so the result never aliases the model's bytes.
  const raw = t.raw.byteOffset % 4 === 0 ? t.raw : new Uint8Array(t.raw);
  return tensorToFloat32({ ...t, raw });
}

export function decoderWeightsFromModel(model: Model): DecoderFromModel {
  const config = readDecoderConfig(model);
  if (!config) throw new Error('decoderWeightsFromModel: the model carries no decoder config in its metadata (not built by buildDecoder)');
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const weights: DecoderWeights = new Map();
  const problems: string[] = [];
  let half = false;
  for (const [name, shape] of decoderWeightShapes(config)) {
    const t = byName.get(name);
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
  if (problems.length) throw new Error(`decoderWeightsFromModel: ${problems.join('; ')}`);
  return { config, weights, weightDtype: half ? 'float16' : 'float32' };
}
