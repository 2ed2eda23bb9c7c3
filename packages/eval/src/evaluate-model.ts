/**
 * The whole suite on one model, as figures keyed by the metric catalogue: size and weight
 * census, then (with a tokenizer) perplexity, bits per byte and, against a base, KL and
 * top-k agreement in one batched pass; cloze and multiple-choice tasks; latency, peak
 * memory of plain inference and samples when asked. Pure library code: bytes and settings in, figures out.
 */
import { createSession } from './causal-lm-session';
import { clozeAccuracy } from './cloze';
import type { SuiteSettings } from './eval-suite';
import { measureLatency, type LatencyResult } from './latency';
import type { ModelFigures } from './metric-catalogue';
import { scoreChoiceItems } from './multiple-choice';
import { PeakRss } from './peak-memory';
import { perplexity, type PerplexityResult } from './perplexity';
import { generateSamples } from './samples';
import type { SuiteText } from './suite-text';
import type { BaseFeed, BatchView } from './token-scan';
import { weightCensus } from './weight-census';
import { openScorer } from './window-scorer';
import { inspectModel, type Model } from '@distillery/onnx';

export interface TextSample {
  prompt: string;
  greedy: string;
  sampled: string;
}

export interface TaskScore {
  name: string;
  accuracy: number;
  accuracyNorm: number;
  items: number;
}

export interface ModelEvaluation {
  figures: ModelFigures;
  tasks: TaskScore[];
  latency?: LatencyResult;
  samples?: TextSample[];
  /** The stream pass as scored (a share of it when `share` was given), for mergePerplexity. */
  stream?: PerplexityResult;
}

/** Catalogue figures of a (whole or merged) stream pass. */
export function streamFigures(ppl: PerplexityResult): ModelFigures {
  const f: ModelFigures = {
    perplexity: ppl.perplexity,
    nll: ppl.nll,
    bitsPerByte: ppl.bitsPerByte,
    scoredTokens: ppl.tokens,
    scoredBytes: ppl.bytes,
    windows: ppl.windows,
    window: ppl.window,
    stride: ppl.stride,
  };
  if (ppl.divergence) {
    f.klDivergence = ppl.divergence.kl;
    f.top1Agreement = ppl.divergence.top1;
    f.top5Agreement = ppl.divergence.top5;
    f.divergenceTokens = ppl.divergence.tokens;
  }
  return f;
}

export interface EvaluateModelInput {
  model: Model;
  /** Serialized size (bytes on disk). */
  bytes: number;
  settings: SuiteSettings;
  /** Window and stride resolved for this model. */
  window: number;
  stride: number;
  /** ORT intra-op threads. */
  threads: number;
  /** null: the model has no tokenizer; only size figures. */
  text: SuiteText | null;
  /** Compare with the base model on the same tokens. */
  base?: BaseFeed;
  /** Sees each scored batch with the whole log-distribution (to cache a base model's). */
  record?: (view: BatchView) => Promise<void>;
  /**
   * What to run: the stream pass (perplexity, bits per byte, divergence; default) or only a
   * share of its windows, and the tasks (default). Threads split the stream in shares and
   * merge them with mergePerplexity; one of them then runs the tasks.
   */
  stream?: boolean | { share: { from: number; to: number } };
  tasks?: boolean;
  /** Measure latency / generate samples. */
  latency?: boolean;
  samples?: boolean;
  maxPositions?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
}

export async function evaluateModel(input: EvaluateModelInput): Promise<ModelEvaluation> {
  const { model, settings, text, signal } = input;
  const census = weightCensus(model);
  const figures: ModelFigures = {
    sizeBytes: input.bytes,
    parameters: inspectModel(model).parameterCount,
    weightParameters: census.weightParameters,
    weightBytes: census.weightBytes,
    scaleBytes: census.scaleBytes,
    bitsPerWeight: census.bitsPerWeight,
  };
  const out: ModelEvaluation = { figures, tasks: [] };
  if (text === null) return out;

  // Progress: the stream pass is most of the work; tasks, latency and samples share the rest.
  const parts = { stream: 0.7, tasks: 0.15, latency: input.latency ? 0.1 : 0, samples: input.samples ? 0.05 : 0 };
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  let before = 0;
  const part = (share: number, label: string) => {
    const from = before;
    before += share;
    return (f: number, message?: string) => input.onProgress?.((from + share * f) / total, message ? `${label}: ${message}` : label);
  };

  const scorer = await openScorer(model, { threads: input.threads, withBase: input.base !== undefined });
  try {
    const stream = input.stream ?? true;
    if (stream !== false) {
      const t0 = performance.now();
      const ppl = await perplexity(scorer, text.tokens, {
        window: input.window,
        stride: input.stride,
        batch: settings.batch,
        tokenBytes: text.tokenBytes,
        base: input.base,
        record: input.record,
        share: stream === true ? undefined : stream.share,
        signal,
        onProgress: part(parts.stream, 'test split'),
      });
      out.stream = ppl;
      if (stream === true) {
        Object.assign(figures, streamFigures(ppl));
        figures.evalThroughput = ppl.tokens / ((performance.now() - t0) / 1000);
      }
    }
    const taskProgress = part(parts.tasks, 'tasks');
    if (input.tasks !== false && text.cloze.length > 0) {
      const cloze = await clozeAccuracy(scorer, text.cloze, { batch: settings.batch, signal, onProgress: (f) => taskProgress(f / 2, 'cloze') });
      figures.clozeAccuracy = cloze.accuracy;
      figures.clozeItems = cloze.items;
    }
    let right = 0;
    let rightNorm = 0;
    let items = 0;
    for (const task of input.tasks === false ? [] : text.tasks) {
      if (task.items.length === 0) continue; // every item was longer than the window
      const r = await scoreChoiceItems(scorer, task.items, { batch: settings.batch, signal, onProgress: (f) => taskProgress(0.5 + f / 2, task.name) });
      out.tasks.push({ name: task.name, accuracy: r.accuracy, accuracyNorm: r.accuracyNorm, items: r.items });
      right += r.accuracy * r.items;
      rightNorm += r.accuracyNorm * r.items;
      items += r.items;
    }
    if (items > 0) {
      figures.choiceAccuracy = right / items;
      figures.choiceAccuracyNorm = rightNorm / items;
      figures.choiceItems = items;
    }
  } finally {
    await scorer.release();
  }

  if (input.latency || input.samples) {
    const latencyProgress = part(parts.latency, 'latency');
    const samplesProgress = part(parts.samples, 'samples');
    const gen = await evaluateGeneration(model, { ...input, onProgress: latencyProgress });
    samplesProgress(1);
    Object.assign(figures, gen.figures);
    out.latency = gen.latency;
    out.samples = gen.samples;
  }
  return out;
}

export interface GenerationInput {
  settings: SuiteSettings;
  threads: number;
  text: SuiteText | null;
  latency?: boolean;
  samples?: boolean;
  maxPositions?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message?: string) => void;
}

/**
 * Latency and samples alone, on a plain session of the model: what the base model needs
 * when its other figures are cached, measured in the same thread right after the output
 * model's so the two compare.
 */
export async function evaluateGeneration(model: Model, input: GenerationInput): Promise<Omit<ModelEvaluation, 'tasks'>> {
  const { settings, signal } = input;
  // Peak memory is that of plain inference (one session, batch 1), the same for every model.
  const memory = new PeakRss();
  const figures: ModelFigures = {};
  const out: Omit<ModelEvaluation, 'tasks'> = { figures };
  const session = await createSession(model, input.threads);
  try {
    if (input.latency) {
      // Prompt and decoded tokens must fit the model's positions (RoPE tables end there).
      const decodeTokens = Math.min(settings.latency.decodeTokens, Math.max(1, Math.floor((input.maxPositions ?? Infinity) / 4)));
      const promptLength = Math.min(settings.latency.promptLength, (input.maxPositions ?? Infinity) - decodeTokens);
      out.latency = await measureLatency(session, {
        ...settings.latency,
        promptLength,
        decodeTokens,
        signal,
        onProgress: (f, m) => {
          memory.sample();
          input.onProgress?.(f * 0.9, m);
        },
      });
      out.latency.threads = input.threads;
      figures.prefillTokensPerSecond = out.latency.prefillTokensPerSecond;
      figures.decodeMsP50 = out.latency.decodeMs.p50;
      figures.decodeMsP95 = out.latency.decodeMs.p95;
      figures.latencyPromptLength = promptLength;
      figures.latencyDecodeTokens = decodeTokens;
    }
    if (input.samples && input.text) {
      const text = input.text;
      const samples = await generateSamples(session, text.prompts, settings.samples, { maxPositions: input.maxPositions, signal });
      // NUL cannot be stored in Postgres text or JSON, and no reader wants it: show it as ␀.
      const show = (ids: number[]) => text.decode(ids).replaceAll('\u0000', '\u2400');
      out.samples = samples.map((s) => ({ prompt: show(s.prompt), greedy: show(s.greedy), sampled: show(s.sampled) }));
    }
    memory.sample();
    input.onProgress?.(1);
  } finally {
    await session.release();
  }
  figures.peakRssDelta = memory.delta;
  return out;
}
