/**
 * Trains a reference language model from scratch on the bundled corpora: BPE tokenizer
 * on the train split, a Llama-style decoder trained with next-token cross-entropy
 * through the ONNX training graph, then test-split perplexity next to a unigram
 * baseline and a few greedy and sampled continuations. Deterministic for a recipe.
 */
import { performance } from 'node:perf_hooks';
import { splitBundledCorpora } from '@distillery/data';
import { modelPerplexity, unigramPerplexity } from '@distillery/eval';
import {
  AdamW,
  buildDecoder,
  buildTrainingGraph,
  createDecoderSession,
  createTrainingSession,
  generate,
  initDecoderWeights,
  noDecayByName,
  parameterCount,
  tokenBatches,
  train,
  trainBpe,
  warmupCosine,
  type BpeTokenizer,
  type DecoderWeights,
  type LossPoint,
} from '@distillery/nn';
import type { ReferenceRecipe } from './recipe';

export interface ReferenceProgress {
  step: number;
  total: number;
  loss: number;
  lr: number;
}

export interface ReferenceResult {
  tokenizer: BpeTokenizer;
  weights: DecoderWeights;
  report: ReferenceReport;
}

export interface ReferenceReport {
  recipe: ReferenceRecipe;
  parameters: number;
  split: unknown;
  tokens: { train: number; validation: number; test: number };
  trainSeconds: number;
  tokensSeen: number;
  lossCurve: { step: number; loss: number; lr: number }[];
  validation: { step: number; perplexity: number }[];
  test: { perplexity: number; nll: number; tokens: number; window: number; stride: number };
  unigramTestPerplexity: number;
  samples: { prompt: string; greedy: string; sampled: string }[];
}

export const SAMPLE_PROMPTS = ['The whale', 'Fellow-Citizens of the Senate and House of Representatives:', 'It was a'];

export interface TrainReferenceOptions {
  onProgress?: (p: ReferenceProgress) => void;
  log?: (message: string) => void;
  signal?: AbortSignal;
  /** ORT threads for the training session (one process trains: use the cores). */
  threads?: number;
  /** Only score this many test tokens (tests); default: the whole test split. */
  maxTestTokens?: number;
  checkpointDir?: string;
}

export async function trainReferenceModel(recipe: ReferenceRecipe, opts: TrainReferenceOptions = {}): Promise<ReferenceResult> {
  const log = opts.log ?? (() => {});
  const split = splitBundledCorpora(recipe.splitSeed);
  log(`training a ${recipe.vocabSize}-token BPE on ${split.train.length} train documents`);
  const tokenizer = trainBpe(
    split.train.map((d) => d.text),
    { vocabSize: recipe.vocabSize },
  );
  const trainTokens = tokenizer.encodeDocuments(split.train.map((d) => d.text));
  const validationTokens = tokenizer.encodeDocuments(split.validation.map((d) => d.text));
  const allTest = tokenizer.encodeDocuments(split.test.map((d) => d.text));
  const testTokens = opts.maxTestTokens ? allTest.subarray(0, opts.maxTestTokens) : allTest;
  const config = { ...recipe.config, vocabSize: tokenizer.vocabSize };
  log(`${trainTokens.length} train tokens; model of ${parameterCount(config)} parameters`);

  const graph = buildTrainingGraph(config, { loss: 'ce', batchSize: recipe.batchSize, seqLen: recipe.seqLen });
  const session = await createTrainingSession(graph, { intraOpNumThreads: opts.threads ?? 1 });
  const validationSlice = validationTokens.subarray(0, Math.min(validationTokens.length, recipe.validationTokens));
  const evaluateValidation = async (params: Map<string, Float32Array>): Promise<Record<string, number>> => {
    const model = buildDecoder(config, params);
    const r = await modelPerplexity(model, validationSlice, { window: recipe.evalWindow, stride: recipe.evalWindow });
    log(`validation perplexity ${r.perplexity.toFixed(2)}`);
    return { perplexity: r.perplexity };
  };

  const t0 = performance.now();
  let result;
  try {
    result = await train({
      source: session,
      params: initDecoderWeights(config, recipe.seed),
      batches: tokenBatches({ tokens: trainTokens, batchSize: recipe.batchSize, seqLen: recipe.seqLen, seed: recipe.seed + 1 }),
      steps: recipe.steps,
      optimizer: { weightDecay: recipe.weightDecay, beta2: 0.95, noDecay: noDecayByName({ embeddings: true }) },
      schedule: warmupCosine({ peakLr: recipe.peakLr, warmupSteps: recipe.warmupSteps, totalSteps: recipe.steps, minLr: recipe.minLr }),
      clip: recipe.clip,
      seed: recipe.seed,
      evalEvery: recipe.evalEvery,
      evaluate: evaluateValidation,
      checkpointDir: opts.checkpointDir,
      checkpointEvery: opts.checkpointDir ? recipe.evalEvery : undefined,
      resume: opts.checkpointDir !== undefined,
      onProgress: (step, total, loss, lr) => opts.onProgress?.({ step, total, loss, lr }),
      signal: opts.signal,
    });
  } finally {
    await session.release();
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const weights = result.params;

  log(`scoring ${testTokens.length} test tokens`);
  const stride = recipe.evalStride;
  const test = await modelPerplexity(buildDecoder(config, weights), testTokens, { window: recipe.evalWindow, stride });
  const unigram = unigramPerplexity(trainTokens, testTokens, tokenizer.vocabSize);
  const samples = await sampleContinuations(config, weights, tokenizer, recipe.seed);

  return {
    tokenizer,
    weights,
    report: {
      recipe: { ...recipe, config },
      parameters: parameterCount(config),
      split: split.descriptor,
      tokens: { train: trainTokens.length, validation: validationTokens.length, test: testTokens.length },
      trainSeconds,
      tokensSeen: result.step * recipe.batchSize * recipe.seqLen,
      lossCurve: thinCurve(result.lossCurve, 200),
      validation: result.evals.map((e) => ({ step: e.step, perplexity: e.metrics.perplexity ?? NaN })),
      test: { perplexity: test.perplexity, nll: test.nll, tokens: test.tokens, window: recipe.evalWindow, stride },
      unigramTestPerplexity: unigram,
      samples,
    },
  };
}

/** Every k-th point so the committed curve stays small but keeps its shape. */
function thinCurve(curve: LossPoint[], maxPoints: number): { step: number; loss: number; lr: number }[] {
  const every = Math.max(1, Math.ceil(curve.length / maxPoints));
  return curve
    .filter((p, i) => i % every === 0 || i === curve.length - 1)
    .map((p) => ({ step: p.step, loss: Math.round(p.loss * 1e4) / 1e4, lr: p.lr }));
}

async function sampleContinuations(
  config: Parameters<typeof buildDecoder>[0],
  weights: DecoderWeights,
  tokenizer: BpeTokenizer,
  seed: number,
): Promise<ReferenceReport['samples']> {
  const session = await createDecoderSession(buildDecoder(config, weights));
  try {
    const out: ReferenceReport['samples'] = [];
    for (const prompt of SAMPLE_PROMPTS) {
      // Keep room to continue within the context (small vocabularies make long prompts).
      const ids = tokenizer.encode(prompt).slice(0, Math.floor(config.maxPositions / 2));
      const opts = { maxNewTokens: 40, eosTokenId: tokenizer.endOfTextId };
      const greedy = await generate(session, config, ids, opts);
      const sampled = await generate(session, config, ids, { ...opts, temperature: 0.8, topK: 40, seed });
      out.push({ prompt, greedy: tokenizer.decode(greedy), sampled: tokenizer.decode(sampled) });
    }
    return out;
  } finally {
    await session.release();
  }
}
