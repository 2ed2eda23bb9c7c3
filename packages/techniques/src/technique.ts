/**
 * What a compression technique is: an id, a zod schema for its parameters and a pure
 * `apply` from model to model. Techniques never touch the database or the network, so
 * the CLI, workers and benchmarks all run them the same way.
 */
import type { z } from 'zod';
import type { Model } from '@distillery/onnx';

export const TECHNIQUE_FAMILIES = ['quantize', 'prune', 'lowrank', 'share', 'distill', 'finetune'] as const;
export type TechniqueFamily = (typeof TECHNIQUE_FAMILIES)[number];

/** Token sequences a technique may run through the model (GPTQ, pruning scores, distillation). */
export interface CalibrationSet {
  sequences: ReadonlyArray<ArrayLike<number>>;
  /** sha256 of the stored token sequences (little-endian int32, concatenated), when the worker sampled them. */
  sha256?: string;
}

export interface TechniqueLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface TechniqueContext {
  /** fraction in [0, 1] of this technique's own work. */
  onProgress(fraction: number, message?: string): void;
  /** Cooperative cancellation: techniques check it between layers and throw CanceledError. */
  signal: AbortSignal;
  calibration?: CalibrationSet;
  log: TechniqueLog;
  /** Token ids of the training text, tokenized with the model's tokenizer (training techniques). */
  trainingTokens?: Int32Array;
  /** Held-out token ids a technique may report metrics on. */
  evalTokens?: Int32Array;
  /** A metric series point, e.g. ('train.loss', step, value); step is 1-based. */
  onMetric?(name: string, step: number, value: number): void;
  /** Scratch folder for large intermediates (teacher caches); default os.tmpdir(). */
  tempDir?: string;
}

export type TechniqueReport = Record<string, number | string>;

export interface TechniqueResult {
  model: Model;
  report: TechniqueReport;
}

export interface Technique<S extends z.ZodType = z.ZodType> {
  id: string;
  family: TechniqueFamily;
  title: string;
  description: string;
  params: S;
  /** Must not mutate `model`; tensors may be shared with the result since they are never edited in place. */
  apply(model: Model, params: z.output<S>, ctx: TechniqueContext): Promise<TechniqueResult>;
}

/** A technique with its parameter type erased, as the registry stores it. */
export type AnyTechnique = Technique<z.ZodType>;

const ID_PATTERN = /^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$/;

export function defineTechnique<S extends z.ZodType>(t: Technique<S>): Technique<S> {
  if (!ID_PATTERN.test(t.id)) {
    throw new Error(`technique id "${t.id}" must look like "<family>.<name>", lowercase with dashes (e.g. "quantize.rtn-int8")`);
  }
  if (!TECHNIQUE_FAMILIES.includes(t.family)) {
    throw new Error(`technique "${t.id}": unknown family "${t.family}" (known: ${TECHNIQUE_FAMILIES.join(', ')})`);
  }
  // The id's first segment names the family so recipes read unambiguously.
  if (t.id.split('.')[0] !== t.family) {
    throw new Error(`technique "${t.id}": id must start with its family "${t.family}."`);
  }
  return Object.freeze({ ...t });
}

/** A context for callers that need none of its services (tests, scripts). */
export function quietContext(overrides: Partial<TechniqueContext> = {}): TechniqueContext {
  return {
    onProgress: () => {},
    signal: new AbortController().signal,
    log: { info: () => {}, warn: () => {} },
    ...overrides,
  };
}
