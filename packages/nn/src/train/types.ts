/**
 * The contracts the training engine is written against. The autodiff's
 * `createTrainingSession(graph)` satisfies `GradientSource` structurally, so this folder
 * compiles and is tested without depending on it.
 */

/** Named parameters (or gradients, or optimizer moments), one flat Float32Array each. */
export type ParamMap = Map<string, Float32Array>;

/** Per-step information a stochastic source (dropout, sampled losses) may use; others ignore it. */
export interface StepContext {
  /** 1-based index of the optimizer step being computed. */
  step: number;
  /** A 32-bit seed drawn from the trainer's RNG, so stochastic sources resume bitwise. */
  seed: number;
}

export interface StepResult {
  loss: number;
  grads: ParamMap;
}

/** Loss and gradients of the loss with respect to `params`, for one (micro-)batch. */
export interface GradientSource<B> {
  step(params: ParamMap, batch: B, context?: StepContext): Promise<StepResult>;
  release?(): void | Promise<void>;
}

/** Same thing as a bare function, for callers that do not need `release`. */
export type StepFn<B> = GradientSource<B>['step'];

/** JSON-serializable value, so cursors and RNG states go into a checkpoint manifest as is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * An endless, deterministic stream of batches. `cursor()` captures where it is;
 * `restore(cursor)` makes the following `next()` calls repeat exactly what they were.
 */
export interface BatchSource<B> {
  next(): B;
  cursor(): JsonValue;
  restore(cursor: JsonValue): void;
}
