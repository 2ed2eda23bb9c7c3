/**
 * Depth pruning: whole transformer blocks are removed and the rest renumbered. Block
 * importance is ShortGPT's Block Influence (Men et al. 2024, "ShortGPT: Layers in Large
 * Language Models are More Redundant Than You Expect", eq. 2), BI_i = 1 - E_t[cos(h_i,t,
 * h_i+1,t)] between the residual stream entering and leaving block i, or the perplexity
 * increase when the block alone is removed (sec. 4.3 compares both); the least important go.
 */
import { z } from 'zod';
import { modelPerplexity } from '@distillery/eval';
import { layerPrefix, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { throwIfCanceled } from '../canceled';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { blockInfluences } from './block-influence';
import { decoderParts, finishStructured, rebuildDecoder, structuredDistillParams, type DecoderParts } from './decoder-rebuild';
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

export const pruneBlocksParams = z
  .object({
    /** How many blocks to remove; the least important go. */
    count: z.number().int().min(1).max(1024).optional(),
    /** Exactly these blocks (0-based) instead of choosing by importance. */
    blocks: z.array(z.number().int().nonnegative()).max(1024).optional(),
    /**
     * perplexity: the calibration perplexity with the block removed (higher = more important);
     * block-influence: ShortGPT's 1 - cos(input, output) of the residual stream.
     */
    importance: z.enum(['perplexity', 'block-influence']).default('perplexity'),
    /** Distill the pruned model from the unpruned one right after pruning. */
    distill: structuredDistillParams.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.count === undefined) === (p.blocks === undefined)) ctx.addIssue({ code: 'custom', path: ['count'], message: 'give exactly one of count and blocks' });
  });
export type PruneBlocksParams = z.output<typeof pruneBlocksParams>;

/** Calibration perplexity of the model without each block in turn. */
async function perplexityWithout(model: Model, parts: DecoderParts, tokens: Int32Array, window: number, ctx: TechniqueContext): Promise<Float64Array> {
  const out = new Float64Array(parts.config.nLayers);
  for (let i = 0; i < parts.config.nLayers; i++) {
    throwIfCanceled(ctx.signal, 'prune.blocks');
    const r = removeBlocks(parts.config, parts.weights, [i]);
    const m = rebuildDecoder(model, { ...parts, config: r.config, weights: r.weights });
    out[i] = (await modelPerplexity(m, tokens, { window, signal: ctx.signal })).perplexity;
    ctx.onProgress((0.9 * (i + 1)) / parts.config.nLayers, `scored block ${i}`);
  }
  return out;
}

export async function pruneBlocks(model: Model, params: PruneBlocksParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.blocks';
  const parts = decoderParts(model, what);
  let remove = params.blocks;
  let scores: ArrayLike<number> | undefined;
  if (!remove) {
    const count = params.count!;
    if (count >= parts.config.nLayers) throw new Error(`${what}: removing ${count} of ${parts.config.nLayers} blocks would remove every block`);
    const seqs = ctx.calibration?.sequences;
    if (!seqs?.length) throw new Error(`${what}: choosing blocks by ${params.importance} needs calibration data (or name the blocks)`);
    if (params.importance === 'perplexity') {
      const window = seqs[0]!.length;
      const tokens = Int32Array.from(seqs.flatMap((s) => Array.from(s)));
      scores = await perplexityWithout(model, parts, tokens, window, ctx);
    } else {
      scores = await blockInfluences(model, seqs, ctx);
    }
    remove = leastImportantBlocks(scores, count);
  }
  const r = removeBlocks(parts.config, parts.weights, remove, what);
  const out = await finishStructured(model, parts, r, params.distill, ctx, {
    removedBlocks: remove.join(','),
    ...(scores ? { importance: params.importance, blockScores: Array.from(scores, (s) => s.toFixed(4)).join(',') } : {}),
  });
  ctx.onProgress(1, 'done');
  return out;
}

export const pruneBlocksTechnique = defineTechnique({
  id: 'prune.blocks',
  family: 'prune',
  title: 'Depth pruning (remove whole blocks)',
  description:
    'Removes whole transformer blocks, either named or the least important by calibration perplexity without the block ' +
    "or ShortGPT's block influence (1 - cos of the residual stream in and out). The model gets fewer layers and a new config.",
  params: pruneBlocksParams,
  apply: pruneBlocks,
});
