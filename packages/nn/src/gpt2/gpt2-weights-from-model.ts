/**
 * The inverse of buildGpt2: the config from the model's metadata and every weight by its
 * checkpoint name as float32 (float16 initializers, which the builder puts behind a Cast,
 * are widened), so a technique can edit the weights and build the model anew. Weights that
 * are not plain float initializers of the expected shape (quantized, factorized) are
 * refused, naming each one.
 */
import type { Model } from '@distillery/onnx';
import { floatCopy } from '../decoder/weights-from-model';
import { readGpt2Config } from './build-gpt2';
import { gpt2WeightShapes, type Gpt2Config, type Gpt2Weights } from './gpt2-config';

export interface Gpt2FromModel {
  config: Gpt2Config;
  weights: Gpt2Weights;
  /** The storage type found (float16 when any weight was half). */
  weightDtype: 'float32' | 'float16';
}

export function gpt2WeightsFromModel(model: Model): Gpt2FromModel {
  const config = readGpt2Config(model);
  if (!config) throw new Error('gpt2WeightsFromModel: the model carries no GPT-2 config in its metadata (not built by buildGpt2)');
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const weights: Gpt2Weights = new Map();
  const problems: string[] = [];
  let half = false;
  for (const [name, shape] of gpt2WeightShapes(config)) {
    const t = byName.get(name);
    if (!t) problems.push(`missing initializer ${name} (a rewritten weight, e.g. quantized, is not read back)`);
    else if (t.dtype !== 'float32' && t.dtype !== 'float16') problems.push(`${name} is stored as ${t.dtype}, not float32/float16`);
    else if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) problems.push(`${name} has shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`);
    else {
      half ||= t.dtype === 'float16';
      weights.set(name, floatCopy(t));
    }
  }
  if (problems.length) throw new Error(`gpt2WeightsFromModel: ${problems.join('; ')}`);
  return { config, weights, weightDtype: half ? 'float16' : 'float32' };
}
