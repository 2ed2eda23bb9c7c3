/** The tiny Llama-style decoder from packages/nn, with weights large enough that logits are far from flat. */
import { buildDecoder, decoderPreset, initDecoderWeights, type DecoderConfig, type DecoderWeights } from '@distillery/nn';
import type { Model } from '@distillery/onnx';

export interface TinyDecoder {
  config: DecoderConfig;
  weights: DecoderWeights;
  model: Model;
}

export function tinyDecoder(seed = 1, std = 0.2): TinyDecoder {
  const config = decoderPreset('tiny');
  const weights = initDecoderWeights(config, seed, std);
  return { config, weights, model: buildDecoder(config, weights) };
}

/** Deterministic token ids in [0, vocab) (an LCG; quality does not matter here). */
export function tokenStream(n: number, vocab: number, seed = 7): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}
