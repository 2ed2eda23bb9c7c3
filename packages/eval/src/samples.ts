/**
 * Generated samples from fixed prompts, greedy and sampled with a fixed seed, so a
 * compressed model's text can be read next to its base's: same prompt, same seed, same
 * sampler (temperature / top-k from packages/nn). Decodes with the KV cache.
 */
import type * as ort from 'onnxruntime-node';
import { argmax, createPrng, sampleToken } from '@distillery/nn';
import { CanceledError } from '@distillery/onnx';
import { causalLm } from './causal-lm-session';

export interface SampleSettings {
  maxNewTokens: number;
  /** Sampling temperature of the sampled continuation (the greedy one is always argmax). */
  temperature: number;
  topK: number;
  seed: number;
}

export interface Sample {
  prompt: number[];
  greedy: number[];
  sampled: number[];
}

async function continuation(session: ort.InferenceSession, prompt: number[], maxNewTokens: number, pick: (row: Float32Array) => number, maxPositions: number): Promise<number[]> {
  const lm = causalLm(session);
  let out = await lm.step(prompt);
  let row = out.logits.subarray((prompt.length - 1) * out.vocab, prompt.length * out.vocab);
  const tokens: number[] = [];
  while (tokens.length < maxNewTokens) {
    const next = pick(row);
    tokens.push(next);
    if (tokens.length >= maxNewTokens || out.present.length >= maxPositions) break;
    out = await lm.step([next], out.present);
    row = out.logits.subarray(0, out.vocab);
  }
  return tokens;
}

export async function generateSamples(
  session: ort.InferenceSession,
  prompts: readonly number[][],
  settings: SampleSettings,
  opts: { maxPositions?: number; signal?: AbortSignal } = {},
): Promise<Sample[]> {
  const out: Sample[] = [];
  const maxPositions = opts.maxPositions ?? Number.POSITIVE_INFINITY;
  for (const [i, prompt] of prompts.entries()) {
    if (opts.signal?.aborted) throw new CanceledError('samples canceled');
    if (prompt.length === 0) throw new Error(`prompt ${i} is empty`);
    const greedy = await continuation(session, prompt, settings.maxNewTokens, argmax, maxPositions);
    // One seed per prompt, so each prompt's sample is reproducible on its own.
    const rng = createPrng(settings.seed + i);
    const sampled = await continuation(session, prompt, settings.maxNewTokens, (row) => sampleToken(row, settings.temperature, settings.topK, rng), maxPositions);
    out.push({ prompt: [...prompt], greedy, sampled });
  }
  return out;
}
