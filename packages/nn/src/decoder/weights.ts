/**
 * Decoder weights as named Float32Arrays, in the Hugging Face Llama naming with linear
 * weights laid out [in, out] (y = x @ W), plus seeded initialisation and a shape check.
 */
import type { DecoderConfig } from './config';
import { createPrng } from './prng';

export type DecoderWeights = Map<string, Float32Array>;

export const layerPrefix = (i: number): string => `model.layers.${i}`;

/** Every weight name with its shape, in a stable order (embedding, layers, norm, head). */
export function decoderWeightShapes(c: DecoderConfig): Map<string, number[]> {
  const D = c.hiddenSize;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const shapes = new Map<string, number[]>();
  shapes.set('model.embed_tokens.weight', [c.vocabSize, D]);
  for (let i = 0; i < c.nLayers; i++) {
    const p = layerPrefix(i);
    shapes.set(`${p}.input_layernorm.weight`, [D]);
    shapes.set(`${p}.self_attn.q_proj.weight`, [D, q]);
    shapes.set(`${p}.self_attn.k_proj.weight`, [D, kv]);
    shapes.set(`${p}.self_attn.v_proj.weight`, [D, kv]);
    if (c.qkvBias) {
      shapes.set(`${p}.self_attn.q_proj.bias`, [q]);
      shapes.set(`${p}.self_attn.k_proj.bias`, [kv]);
      shapes.set(`${p}.self_attn.v_proj.bias`, [kv]);
    }
    shapes.set(`${p}.self_attn.o_proj.weight`, [q, D]);
    shapes.set(`${p}.post_attention_layernorm.weight`, [D]);
    shapes.set(`${p}.mlp.gate_proj.weight`, [D, c.ffnSize]);
    shapes.set(`${p}.mlp.up_proj.weight`, [D, c.ffnSize]);
    shapes.set(`${p}.mlp.down_proj.weight`, [c.ffnSize, D]);
  }
  shapes.set('model.norm.weight', [D]);
  if (!c.tieEmbeddings) shapes.set('lm_head.weight', [D, c.vocabSize]);
  return shapes;
}

const isNorm = (name: string): boolean => name.endsWith('layernorm.weight') || name === 'model.norm.weight';
// Projections that write into the residual stream.
const isResidualOutput = (name: string): boolean => name.endsWith('o_proj.weight') || name.endsWith('down_proj.weight');

/**
 * Normal(0, 0.02) weights, norms = 1, residual output projections scaled by
 * 1/sqrt(2 * nLayers) so the residual stream's variance does not grow with depth
 * (Radford et al. 2019, GPT-2, section 2.3).
 */
export function initDecoderWeights(c: DecoderConfig, seed: number, std = 0.02): DecoderWeights {
  const rng = createPrng(seed);
  const weights: DecoderWeights = new Map();
  const residualScale = 1 / Math.sqrt(2 * c.nLayers);
  for (const [name, shape] of decoderWeightShapes(c)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(n);
    if (isNorm(name)) w.fill(1);
    else {
      const s = isResidualOutput(name) ? std * residualScale : std;
      for (let k = 0; k < n; k++) w[k] = rng.normal() * s;
    }
    weights.set(name, w);
  }
  return weights;
}

/** Throws naming every missing, extra or wrongly sized tensor. */
export function checkWeights(c: DecoderConfig, weights: ReadonlyMap<string, ArrayLike<number>>): void {
  const shapes = decoderWeightShapes(c);
  const problems: string[] = [];
  for (const [name, shape] of shapes) {
    const w = weights.get(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!w) problems.push(`missing ${name} [${shape.join(', ')}]`);
    else if (w.length !== n) problems.push(`${name} has ${w.length} values, expected [${shape.join(', ')}] = ${n}`);
  }
  for (const name of weights.keys()) {
    if (!shapes.has(name)) {
      const hint = name === 'lm_head.weight' && c.tieEmbeddings ? ' (config has tieEmbeddings: true)' : '';
      problems.push(`unexpected ${name}${hint}`);
    }
  }
  if (problems.length) throw new Error(`decoder weights do not match the config: ${problems.join('; ')}`);
}
