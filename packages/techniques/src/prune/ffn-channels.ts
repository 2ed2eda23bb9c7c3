/**
 * FFN channel (neuron) pruning as in Minitron (Muralidharan et al. 2024, "Compact Language
 * Models via Pruning and Knowledge Distillation", sec. 2.2): channel i of a SwiGLU MLP is
 * column i of gate_proj and up_proj and row i of down_proj; the channels with the smallest
 * activation importance go, and the intermediate size shrinks by the same count in every
 * layer (one ffnSize in the config). Importance of channel i: mean |h_i| over calibration
 * tokens of down_proj's input h = silu(x Wg) * (x Wu).
 */
import { layerPrefix, type DecoderConfig, type DecoderWeights } from '@distillery/nn';

/** Indices of the `keep` largest scores, in ascending index order (ties: lower index wins). */
export function topIndices(score: ArrayLike<number>, keep: number): number[] {
  const order = Array.from({ length: score.length }, (_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

export function selectColumns(w: Float32Array, rows: number, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(rows * keep.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < keep.length; j++) out[r * keep.length + j] = w[r * cols + keep[j]!]!;
  return out;
}

export function selectRows(w: Float32Array, cols: number, keep: number[]): Float32Array {
  const out = new Float32Array(keep.length * cols);
  keep.forEach((r, j) => out.set(w.subarray(r * cols, (r + 1) * cols), j * cols));
  return out;
}

export interface StructuredResult {
  config: DecoderConfig;
  weights: DecoderWeights;
  /** What was kept, per layer (channel, head or block indices of the input model). */
  kept: number[][];
}

/** Keep `keep` channels per layer by `importance[layer][channel]`. */
export function pruneFfnChannels(config: DecoderConfig, weights: DecoderWeights, importance: ArrayLike<number>[], keep: number, what = 'prune.ffn-channels'): StructuredResult {
  const F = config.ffnSize;
  const D = config.hiddenSize;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`${what}: keeping ${keep} of ${F} FFN channels would remove every channel of the MLP`);
  if (keep >= F) throw new Error(`${what}: keeping ${keep} of ${F} FFN channels removes nothing`);
  if (importance.length !== config.nLayers) throw new Error(`${what}: importance for ${importance.length} layers, the model has ${config.nLayers}`);
  const out: DecoderWeights = new Map(weights);
  const kept: number[][] = [];
  for (let i = 0; i < config.nLayers; i++) {
    const imp = importance[i]!;
    if (imp.length !== F) throw new Error(`${what}: layer ${i} has ${imp.length} channel scores, expected ${F}`);
    const idx = topIndices(imp, keep);
    kept.push(idx);
    const p = layerPrefix(i);
    out.set(`${p}.mlp.gate_proj.weight`, selectColumns(weights.get(`${p}.mlp.gate_proj.weight`)!, D, F, idx));
    out.set(`${p}.mlp.up_proj.weight`, selectColumns(weights.get(`${p}.mlp.up_proj.weight`)!, D, F, idx));
    out.set(`${p}.mlp.down_proj.weight`, selectRows(weights.get(`${p}.mlp.down_proj.weight`)!, D, idx));
  }
  return { config: { ...config, ffnSize: keep }, weights: out, kept };
}
