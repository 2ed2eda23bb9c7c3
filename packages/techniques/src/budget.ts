/**
 * Resource bounds of technique parameters, in one place every technique uses: zod
 * builders for the parameters most techniques share (finite learning rates in a sane
 * range, step budgets, batch and window sizes), the base model's shape as the API knows
 * it without decoding the model (the decoder's config.json stored on the model row), and
 * the types of the optional `check` and `estimate` members a technique declares so a
 * recipe is judged against the model it will run on before any work starts.
 */
import { z } from 'zod';
import { fromHfConfig, parameterCount, parseDecoderConfig, type DecoderConfig } from '@distillery/nn';

export const MAX_RECIPE_STEPS = 16;
export const MAX_TRAINING_STEPS = 100_000;
export const MAX_BATCH_SIZE = 256;
export const MAX_SEQ_LEN = 8192;
export const MIN_LR = 1e-10;
export const MAX_LR = 1;
export const MAX_SEED = 2 ** 31 - 1;
/** Longest name a produced model gets; names derived from step ids are cut to it. */
export const MAX_MODEL_NAME = 200;
/** Points kept per metric series of one step (loss curves are thinned evenly to this). */
export const MAX_SERIES_POINTS = 200;
/** Metric rows one run may record. */
export const MAX_METRICS_PER_RUN = 10_000;

const int = (field: string) => z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`);

/** zod builders for the parameters training techniques share; each names its field and its bound. */
export const bounded = {
  steps: (def: number) =>
    int('steps').positive('steps must be positive').max(MAX_TRAINING_STEPS, `steps must be at most ${MAX_TRAINING_STEPS.toLocaleString('en-US')}`).default(def),
  warmup: (def: number) => int('warmup').nonnegative('warmup must be >= 0').max(MAX_TRAINING_STEPS, `warmup must be at most ${MAX_TRAINING_STEPS}`).default(def),
  batchSize: (def: number) => int('batchSize').positive('batchSize must be positive').max(MAX_BATCH_SIZE, `batchSize must be at most ${MAX_BATCH_SIZE}`).default(def),
  seqLen: (def: number) => int('seqLen').min(2, 'seqLen must be at least 2').max(MAX_SEQ_LEN, `seqLen must be at most ${MAX_SEQ_LEN}`).default(def),
  // Beyond 1 AdamW diverges at once; 0 and below train nothing (tiny rates are how tests keep weights put).
  lr: (def: number) =>
    z.number({ error: 'lr must be a number' }).min(MIN_LR, `lr must be in [${MIN_LR}, ${MAX_LR}]`).max(MAX_LR, `lr must be in [${MIN_LR}, ${MAX_LR}]`).default(def),
  seed: (def: number) => int('seed').min(0, 'seed must be >= 0').max(MAX_SEED, `seed must be at most ${MAX_SEED}`).default(def),
};

/** What the budget checks know about a decoder: its config plus stored bytes per weight. */
export interface ModelShape {
  parameters: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffnSize: number;
  vocabSize: number;
  maxPositions: number;
  tiedEmbeddings: boolean;
  /** 4 float32, 2 float16, about 1 int8 (DequantizeLinear weights). */
  bytesPerParameter: number;
}

export function shapeOfDecoder(c: DecoderConfig, bytesPerParameter = 4): ModelShape {
  return {
    parameters: parameterCount(c),
    layers: c.nLayers,
    hiddenSize: c.hiddenSize,
    heads: c.nHeads,
    kvHeads: c.nKvHeads,
    headDim: c.headDim,
    ffnSize: c.ffnSize,
    vocabSize: c.vocabSize,
    maxPositions: c.maxPositions,
    tiedEmbeddings: c.tieEmbeddings,
    bytesPerParameter,
  };
}

/** The decoder config a shape stands for (RoPE and norm settings at their defaults, which cost nothing). */
export function decoderConfigOfShape(s: ModelShape): DecoderConfig {
  return parseDecoderConfig({
    arch: 'llama',
    vocabSize: s.vocabSize,
    hiddenSize: s.hiddenSize,
    nLayers: s.layers,
    nHeads: s.heads,
    nKvHeads: s.kvHeads,
    headDim: s.headDim,
    ffnSize: s.ffnSize,
    maxPositions: s.maxPositions,
    tieEmbeddings: s.tiedEmbeddings,
  });
}

/**
 * The shape from a model row's stored config (`config.decoderConfig`, a Hugging Face
 * LlamaConfig) and its file size; null when the row stores none (a non-decoder import).
 */
export function shapeFromStoredConfig(config: unknown, fileBytes: number): ModelShape | null {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return null;
  const hf = (config as Record<string, unknown>).decoderConfig;
  if (hf === null || typeof hf !== 'object' || Array.isArray(hf)) return null;
  let decoder: DecoderConfig;
  try {
    decoder = fromHfConfig(hf as Record<string, unknown>);
  } catch {
    return null;
  }
  const n = parameterCount(decoder);
  return shapeOfDecoder(decoder, n > 0 && fileBytes > 0 ? Math.min(4, Math.max(0.5, fileBytes / n)) : 4);
}

/** A parameter that does not fit the model; `path` is relative to the step's params. */
export interface ParamIssue {
  path: (string | number)[];
  message: string;
}

/** One step's cost on a model of a given shape, and the shape it hands to the next step. */
export interface StepEstimate {
  /** Peak memory the step adds to a worker thread (weights, optimizer state, activations). */
  peakBytes: number;
  /** Floating-point operations of the step's heavy work. */
  flops: number;
  /** Work not proportional to FLOPs (graph building, session creation, JS loops over weights). */
  fixedSeconds: number;
  output: ModelShape;
}

/** A worker's limits: what a run may need of one worker. */
export interface WorkerBudget {
  memoryBytes: number;
  seconds: number;
  /** Sustained FLOP/s of one worker thread in ORT, to turn FLOPs into seconds. */
  flopsPerSecond: number;
}

/** Defaults of WORKER_MEMORY_BUDGET_MB and RUN_TIME_LIMIT_S, shared by the API (which refuses) and the worker (which enforces). */
export const DEFAULT_WORKER_MEMORY_BUDGET_MB = 4096;
export const DEFAULT_RUN_TIME_LIMIT_S = 6 * 3600;

/** 40 GFLOP/s: about half the MatMul rate of one ORT thread measured here (README, train bench). */
export const DEFAULT_FLOPS_PER_SECOND = 40e9;

export const secondsOf = (e: Pick<StepEstimate, 'flops' | 'fixedSeconds'>, flopsPerSecond: number): number => e.fixedSeconds + e.flops / flopsPerSecond;
