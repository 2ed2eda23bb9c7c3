/** A character-level language on the bundled corpora and a tiny decoder trained on it, for the training-technique tests. */
import { bundledDocuments } from '@distillery/data';
import { modelPerplexity } from '@distillery/eval';
import { buildDecoder, decoderPreset, decoderWeightsFromModel, initDecoderWeights, isBlockLinearWeight, type DecoderConfig } from '@distillery/nn';
import type { Model } from '@distillery/onnx';
import { quietContext, trainDecoder, type TechniqueContext } from '../src';

/** Printable ASCII 32..126 -> 0..94, newline -> 95, anything else -> space (0): fits the tiny preset's 96 ids. */
export function charTokens(text: string): Int32Array {
  const out = new Int32Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c === 10 ? 95 : c >= 32 && c <= 126 ? c - 32 : 0;
  }
  return out;
}

let corpus: { train: Int32Array; test: Int32Array } | undefined;

/** Moby-Dick chapters: a training stream and a disjoint held-out stream. */
export function tinyCorpus(): { train: Int32Array; test: Int32Array } {
  if (!corpus) {
    const docs = bundledDocuments().filter((d) => d.corpus === 'moby-dick');
    corpus = {
      train: charTokens(docs.slice(1, 40).map((d) => d.text).join('\n')).subarray(0, 200_000),
      test: charTokens(docs.slice(60, 70).map((d) => d.text).join('\n')).subarray(0, 4096),
    };
  }
  return corpus;
}

export const tinyConfig: DecoderConfig = decoderPreset('tiny');

export function ctxWith(overrides: Partial<TechniqueContext> = {}): TechniqueContext {
  return quietContext({ trainingTokens: tinyCorpus().train, ...overrides });
}

/** The tiny preset trained with cross-entropy for `steps` steps (a second or two). */
export async function trainTinyModel(steps: number, seed = 1, config: DecoderConfig = tinyConfig): Promise<Model> {
  const run = await trainDecoder({
    config,
    params: initDecoderWeights(config, seed),
    tokens: tinyCorpus().train,
    steps,
    batchSize: 8,
    seqLen: 64,
    lr: 3e-3,
    warmup: 20,
    seed,
    graph: { loss: 'ce' },
    ctx: ctxWith(),
  });
  return buildDecoder(config, run.params);
}

export async function testPerplexity(model: Model): Promise<number> {
  return (await modelPerplexity(model, tinyCorpus().test, { window: 64 })).perplexity;
}

/** Zero the smaller-magnitude half of every block projection (unstructured 50% sparsity). */
export function pruneHalf(model: Model): Model {
  const { config, weights } = decoderWeightsFromModel(model);
  for (const [name, w] of weights) {
    if (!isBlockLinearWeight(name)) continue;
    const cut = Float32Array.from(w, Math.abs).sort()[Math.floor(w.length / 2)]!;
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) < cut) w[i] = 0;
  }
  return buildDecoder(config, weights);
}
