/**
 * Depth pruning: whole transformer blocks are removed and the rest renumbered. Block
 * importance is ShortGPT's Block Influence (Men et al. 2024, "ShortGPT: Layers in Large
 * Language Models are More Redundant Than You Expect", eq. 2), BI_i = 1 - E_t[cos(h_i,t,
 * h_i+1,t)] between the residual stream entering and leaving block i, or the perplexity
 * increase when the block alone is removed (sec. 4.3 compares both); the least important go.
 */
import { z } from 'zod';
import { modelPerplexity } from '@distillery/eval';
import { gpt2BlockPrefix, layerPrefix, type DecoderConfig, type DecoderWeights, type Gpt2Config, type Gpt2Weights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { throwIfCanceled } from '../canceled';
import { defineTechnique, type TechniqueContext, type TechniqueResult } from '../technique';
import { blockInfluences } from './block-influence';
import { decoderParts, finishStructured, rebuildDecoder, structuredDistillParams } from './decoder-rebuild';
import { finishGpt2Structured, gpt2Parts, rebuildGpt2, refuseGpt2Distill } from './gpt2-rebuild';
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

/** The blocks left after removing `remove`, refusing unknown blocks, an empty removal and removing them all. */
function keptBlocks(nLayers: number, remove: number[], what: string): number[] {
  const gone = new Set(remove);
  for (const i of gone) if (!Number.isInteger(i) || i < 0 || i >= nLayers) throw new Error(`${what}: block ${i} does not exist (the model has ${nLayers})`);
  if (gone.size === 0) throw new Error(`${what}: no block to remove`);
  if (gone.size >= nLayers) throw new Error(`${what}: removing ${gone.size} of ${nLayers} blocks would remove every block`);
  return Array.from({ length: nLayers }, (_, i) => i).filter((i) => !gone.has(i));
}

/** Weights of the kept blocks renamed to 0..keep.length-1 under `prefix`; weights outside blocks (`inBlock` false) stay. */
function renumberBlocks(weights: ReadonlyMap<string, Float32Array>, keep: number[], prefix: (i: number) => string, inBlock: (name: string) => boolean): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, w] of weights) if (!inBlock(name)) out.set(name, w);
  keep.forEach((src, dst) => {
    const from = `${prefix(src)}.`;
    for (const [name, w] of weights) if (name.startsWith(from)) out.set(`${prefix(dst)}.${name.slice(from.length)}`, w);
  });
  return out;
}

export function removeBlocks(config: DecoderConfig, weights: DecoderWeights, remove: number[], what = 'prune.blocks'): StructuredResult {
  const keep = keptBlocks(config.nLayers, remove, what);
  const out: DecoderWeights = renumberBlocks(weights, keep, layerPrefix, (n) => n.startsWith('model.layers.'));
  return { config: { ...config, nLayers: keep.length }, weights: out, kept: [keep] };
}

/** The same for GPT-2: blocks are `transformer.h.{i}`; wte, wpe and ln_f stay. */
export function removeGpt2Blocks(config: Gpt2Config, weights: Gpt2Weights, remove: number[], what = 'prune.blocks'): { config: Gpt2Config; weights: Gpt2Weights; kept: number[][] } {
  const keep = keptBlocks(config.nLayers, remove, what);
  return { config: { ...config, nLayers: keep.length }, weights: renumberBlocks(weights, keep, gpt2BlockPrefix, (n) => n.startsWith('transformer.h.')), kept: [keep] };
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

/** Calibration perplexity of the model without each block in turn; `without(i)` builds the model lacking block i. */
async function perplexityWithout(nLayers: number, without: (i: number) => Model, tokens: Int32Array, window: number, ctx: TechniqueContext): Promise<Float64Array> {
  const out = new Float64Array(nLayers);
  for (let i = 0; i < nLayers; i++) {
    throwIfCanceled(ctx.signal, 'prune.blocks');
    out[i] = (await modelPerplexity(without(i), tokens, { window, signal: ctx.signal })).perplexity;
    ctx.onProgress((0.9 * (i + 1)) / nLayers, `scored block ${i}`);
  }
  return out;
}

/** The blocks to remove: named, or the `count` least important by the chosen importance. */
async function blocksToRemove(model: Model, params: PruneBlocksParams, nLayers: number, without: (i: number) => Model, ctx: TechniqueContext): Promise<{ remove: number[]; scores?: ArrayLike<number> }> {
  const what = 'prune.blocks';
  if (params.blocks) return { remove: params.blocks };
  const count = params.count!;
  if (count >= nLayers) throw new Error(`${what}: removing ${count} of ${nLayers} blocks would remove every block`);
  const seqs = ctx.calibration?.sequences;
  if (!seqs?.length) throw new Error(`${what}: choosing blocks by ${params.importance} needs calibration data (or name the blocks)`);
  let scores: ArrayLike<number>;
  if (params.importance === 'perplexity') {
    const tokens = Int32Array.from(seqs.flatMap((s) => Array.from(s)));
    scores = await perplexityWithout(nLayers, without, tokens, seqs[0]!.length, ctx);
  } else {
    scores = await blockInfluences(model, seqs, ctx);
  }
  return { remove: leastImportantBlocks(scores, count), scores };
}

export async function pruneBlocks(model: Model, params: PruneBlocksParams, ctx: TechniqueContext): Promise<TechniqueResult> {
  const what = 'prune.blocks';
  const describe = (remove: number[], scores: ArrayLike<number> | undefined) => ({
    removedBlocks: remove.join(','),
    ...(scores ? { importance: params.importance, blockScores: Array.from(scores, (s) => s.toFixed(4)).join(',') } : {}),
  });
  const gpt2 = gpt2Parts(model, what);
  if (gpt2) {
    refuseGpt2Distill(what, params.distill);
    const without = (i: number) => rebuildGpt2(model, { ...gpt2, ...removeGpt2Blocks(gpt2.config, gpt2.weights, [i], what) });
    const { remove, scores } = await blocksToRemove(model, params, gpt2.config.nLayers, without, ctx);
    const out = finishGpt2Structured(model, gpt2, removeGpt2Blocks(gpt2.config, gpt2.weights, remove, what), describe(remove, scores));
    ctx.onProgress(1, 'done');
    return out;
  }
  const parts = decoderParts(model, what);
  const without = (i: number) => rebuildDecoder(model, { ...parts, ...removeBlocks(parts.config, parts.weights, [i], what) });
  const { remove, scores } = await blocksToRemove(model, params, parts.config.nLayers, without, ctx);
  const r = removeBlocks(parts.config, parts.weights, remove, what);
  const out = await finishStructured(model, parts, r, params.distill, ctx, describe(remove, scores));
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
