/**
 * A decoder with outlier input channels, computing the same function as the one it is made
 * from. Large language models carry a few hidden dimensions whose activations are tens of
 * times the others', the same dimensions in every layer, with small weights reading them
 * (Dettmers et al. 2022, LLM.int8(), §4); AWQ's scales and Wanda's norms exist for them.
 * Here: for `count` hidden dimensions j, every RMSNorm weight feeding linear layers
 * (input_layernorm, post_attention_layernorm) is multiplied by `factor` at j and the rows j
 * of the layers reading them (q/k/v, gate/up) divided by it, so each product x_j w_j, and
 * the model's output, stays the same up to float rounding.
 */
import { buildDecoder, decoderWeightsFromModel, layerPrefix } from '@distillery/nn';
import type { Model } from '@distillery/onnx';

export interface OutlierChannelsOptions {
  /** How many hidden dimensions become outliers. */
  count: number;
  /** How much larger their activations get (and how much smaller the weights reading them). */
  factor: number;
}

export interface OutlierChannels {
  model: Model;
  /** The hidden dimensions made outliers: those with the largest mean |γ| over the model's norms. */
  channels: number[];
}

const READERS: Record<string, string[]> = {
  input_layernorm: ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'],
  post_attention_layernorm: ['mlp.gate_proj', 'mlp.up_proj'],
};

export function withOutlierChannels(model: Model, o: OutlierChannelsOptions): OutlierChannels {
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`withOutlierChannels: count must be a positive integer, got ${o.count}`);
  if (!(o.factor > 0) || !Number.isFinite(o.factor)) throw new Error(`withOutlierChannels: factor must be a positive number, got ${o.factor}`);
  const { config, weights } = decoderWeightsFromModel(model);
  const D = config.hiddenSize;
  if (o.count > D) throw new Error(`withOutlierChannels: count ${o.count} exceeds the hidden size ${D}`);
  const get = (name: string): Float32Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`withOutlierChannels: the model has no weight ${name}`);
    return w;
  };
  const norms = Array.from({ length: config.nLayers }, (_, i) => Object.keys(READERS).map((n) => `${layerPrefix(i)}.${n}.weight`)).flat();
  const meanAbs = new Float64Array(D);
  for (const n of norms) get(n).forEach((g, j) => (meanAbs[j]! += Math.abs(g) / norms.length));
  const channels = [...meanAbs.keys()].sort((a, b) => meanAbs[b]! - meanAbs[a]! || a - b).slice(0, o.count);
  const out = new Map(weights);
  for (let i = 0; i < config.nLayers; i++) {
    for (const [norm, readers] of Object.entries(READERS)) {
      const gamma = Float32Array.from(get(`${layerPrefix(i)}.${norm}.weight`));
      for (const j of channels) gamma[j]! *= o.factor;
      out.set(`${layerPrefix(i)}.${norm}.weight`, gamma);
      for (const r of readers) {
        const name = `${layerPrefix(i)}.${r}.weight`;
        // Weights are [in, out]: row j holds what input channel j contributes.
        const w = Float32Array.from(get(name));
        const cols = w.length / D;
        for (const j of channels) for (let c = 0; c < cols; c++) w[j * cols + c]! /= o.factor;
        out.set(name, w);
      }
    }
  }
  return { model: { ...buildDecoder(config, out), metadata: model.metadata }, channels };
}
