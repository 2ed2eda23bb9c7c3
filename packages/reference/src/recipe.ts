/**
 * The recipe of `ref-base`, the language model Distillery ships: every number that
 * decides the committed weights lives here, so the model is reproduced by running
 * `npm run train:reference` with nothing else to choose.
 */
import { BUNDLED_SPLIT_SEED } from '@distillery/data';
import { decoderPreset, type DecoderConfig } from '@distillery/nn';

export interface ReferenceRecipe {
  name: string;
  seed: number;
  splitSeed: number;
  vocabSize: number;
  config: DecoderConfig;
  batchSize: number;
  seqLen: number;
  steps: number;
  warmupSteps: number;
  peakLr: number;
  minLr: number;
  weightDecay: number;
  clip: number;
  /** Validation perplexity every this many steps (on `validationTokens` tokens). */
  evalEvery: number;
  validationTokens: number;
  /** Sliding-window evaluation of the test split. */
  evalWindow: number;
  evalStride: number;
}

export function referenceRecipe(overrides: Partial<ReferenceRecipe> = {}): ReferenceRecipe {
  const seqLen = overrides.seqLen ?? 256;
  const steps = overrides.steps ?? 2500;
  return {
    name: 'ref-base',
    seed: 20261124,
    splitSeed: BUNDLED_SPLIT_SEED,
    vocabSize: 4096,
    // Trained on 256-token windows, so the model claims no positions it never saw.
    config: decoderPreset('ref-5m', { maxPositions: seqLen }),
    batchSize: 8,
    seqLen,
    steps,
    // A shortened run (tests, trials) keeps warmup to a tenth of its steps.
    warmupSteps: Math.min(100, Math.floor(steps / 10)),
    peakLr: 2e-3,
    minLr: 1e-4,
    weightDecay: 0.1,
    clip: 1.0,
    evalEvery: 250,
    validationTokens: 16_384,
    evalWindow: seqLen,
    evalStride: seqLen / 2,
    ...overrides,
  };
}
