/**
 * The whole suite on one model, as figures keyed by the metric catalogue: size and weight
 * census, then (with a tokenizer) perplexity, bits per byte and, against a base, KL and
 * top-k agreement in one batched pass; cloze and multiple-choice tasks; latency, peak
 * memory and samples when asked. Pure library code: bytes and settings in, figures out.
 */
import { createSession } from './causal-lm-session';
import { clozeAccuracy } from './cloze';
import type { SuiteSettings } from './eval-suite';
import { measureLatency, type LatencyResult } from './latency';
import type { ModelFigures } from './metric-catalogue';
import { scoreChoiceItems } from './multiple-choice';
import { PeakRss } from './peak-memory';
import { perplexity } from './perplexity';
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

  const memory = new PeakRss();
  const scorer = await openScorer(model, { threads: input.threads, withBase: input.base !== undefined });
  try {
    const t0 = performance.now();
    const ppl = await perplexity(scorer, text.tokens, {
      window: input.window,
      stride: input.stride,
      batch: settings.batch,
      tokenBytes: text.tokenBytes,
      base: input.base,
      record: input.record,
      signal,
      onProgress: (f, m) => {
        memory.sample();
        part(parts.stream, 'test split')(f, m);
      },
    });
    figures.evalThroughput = ppl.tokens / ((performance.now() - t0) / 1000);
    Object.assign(figures, {
      perplexity: ppl.perplexity,
      nll: ppl.nll,
      bitsPerByte: ppl.bitsPerByte,
      scoredTokens: ppl.tokens,
      scoredBytes: ppl.bytes,
      windows: ppl.windows,
      window: ppl.window,
      stride: ppl.stride,
    } satisfies ModelFigures);
    if (ppl.divergence) {
      figures.klDivergence = ppl.divergence.kl;
      figures.top1Agreement = ppl.divergence.top1;
      figures.top5Agreement = ppl.divergence.top5;
      figures.divergenceTokens = ppl.divergence.tokens;
    }
    const taskProgress = part(parts.tasks, 'tasks');
    if (text.cloze.length > 0) {
      const cloze = await clozeAccuracy(scorer, text.cloze, { batch: settings.batch, signal, onProgress: (f) => taskProgress(f / 2, 'cloze') });
      figures.clozeAccuracy = cloze.accuracy;
      figures.clozeItems = cloze.items;
    }
    let right = 0;
    let rightNorm = 0;
    let items = 0;
    for (const task of text.tasks) {
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
    memory.sample();
  } finally {
    await scorer.release();
  }

  if (input.latency || input.samples) {
    const session = await createSession(model, input.threads);
    try {
      if (input.latency) {
        const l = settings.latency;
        const latencyProgress = part(parts.latency, 'latency');
        out.latency = await measureLatency(session, { ...l, signal, onProgress: (f, m) => { memory.sample(); latencyProgress(f, m); } });
        out.latency.threads = input.threads;
        figures.prefillTokensPerSecond = out.latency.prefillTokensPerSecond;
        figures.decodeMsP50 = out.latency.decodeMs.p50;
        figures.decodeMsP95 = out.latency.decodeMs.p95;
      }
      if (input.samples) {
        const samples = await generateSamples(session, text.prompts, settings.samples, { maxPositions: input.maxPositions, signal });
        out.samples = samples.map((s) => ({ prompt: text.decode(s.prompt), greedy: text.decode(s.greedy), sampled: text.decode(s.sampled) }));
        part(parts.samples, 'samples')(1);
      }
      memory.sample();
    } finally {
      await session.release();
    }
  }
  figures.peakRssDelta = memory.delta;
  return out;
}
