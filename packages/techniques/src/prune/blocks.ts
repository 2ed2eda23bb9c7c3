/**
 * Depth pruning: whole transformer blocks are removed and the rest renumbered. Block
 * importance is ShortGPT's Block Influence (Men et al. 2024, "ShortGPT: Layers in Large
 * Language Models are More Redundant Than You Expect", eq. 2), BI_i = 1 - E_t[cos(h_i,t,
 * h_i+1,t)] between the residual stream entering and leaving block i, or the perplexity
 * increase when the block alone is removed (sec. 4.3 compares both); the least important go.
 */
import { layerPrefix, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { StructuredResult } from './ffn-channels';

/** 1 - mean over tokens of cos(input_t, output_t); rows are tokens of width d. */
export function blockInfluence(input: Float32Array, output: Float32Array, d: number): number {
  if (input.length !== output.length || input.length % d !== 0) throw new Error(`blockInfluence: ${input.length} and ${output.length} values are not the same [tokens, ${d}]`);
  const tokens = input.length / d;
  let sum = 0;
  for (let t = 0; t < tokens; t++) {
    let dot = 0, a = 0, b = 0;
    for (let j = 0; j < d; j++) {
      const x = input[t * d + j]!, y = output[t * d + j]!;
      dot += x * y;
      a += x * x;
      b += y * y;
    }
    sum += a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 1;
  }
  return 1 - sum / tokens;
}

/** The `count` blocks with the lowest importance, ascending. */
export function leastImportantBlocks(importance: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: importance.length }, (_, i) => i)
    .sort((a, b) => importance[a]! - importance[b]! || b - a)
    .slice(0, count)
    .sort((a, b) => a - b);
}

export function removeBlocks(config: DecoderConfig, weights: DecoderWeights, remove: number[], what = 'prune.blocks'): StructuredResult {
  const gone = new Set(remove);
  for (const i of gone) if (!Number.isInteger(i) || i < 0 || i >= config.nLayers) throw new Error(`${what}: block ${i} does not exist (the model has ${config.nLayers})`);
  if (gone.size === 0) throw new Error(`${what}: no block to remove`);
  if (gone.size >= config.nLayers) throw new Error(`${what}: removing ${gone.size} of ${config.nLayers} blocks would remove every block`);
  const keep = Array.from({ length: config.nLayers }, (_, i) => i).filter((i) => !gone.has(i));
  const out: DecoderWeights = new Map();
  for (const [name, w] of weights) if (!name.startsWith('model.layers.')) out.set(name, w);
  keep.forEach((src, dst) => {
    const from = `${layerPrefix(src)}.`;
    for (const [name, w] of weights) if (name.startsWith(from)) out.set(`${layerPrefix(dst)}.${name.slice(from.length)}`, w);
  });
  return { config: { ...config, nLayers: keep.length }, weights: out, kept: [keep] };
}
