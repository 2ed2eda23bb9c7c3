/** The training-run parameters shared by the fine-tuning techniques, validated with zod and bounded (budget.ts). */
import { bounded, type ModelShape, type ParamIssue, type StepEstimate } from '../budget';
import { estimateTraining } from '../step-estimates';

export const trainingRunParams = {
  steps: bounded.steps(100),
  lr: bounded.lr(3e-4),
  batchSize: bounded.batchSize(8),
  seqLen: bounded.seqLen(128),
  warmup: bounded.warmup(10),
  seed: bounded.seed(0),
};

export interface TrainingRunParams {
  steps: number;
  batchSize: number;
  seqLen: number;
}

/** Windows must fit the model's context. */
export function checkTrainingRun(p: TrainingRunParams, shape: ModelShape): ParamIssue[] {
  return p.seqLen > shape.maxPositions ? [{ path: ['seqLen'], message: `seqLen (${p.seqLen}) exceeds the model's context of ${shape.maxPositions} positions` }] : [];
}

/** Fine-tuning the model in place: trained in float32, written back at `outputBytesPerParameter`. */
export function estimateFinetune(p: TrainingRunParams, shape: ModelShape, outputBytesPerParameter = shape.bytesPerParameter): StepEstimate {
  const output = { ...shape, bytesPerParameter: outputBytesPerParameter };
  return estimateTraining({ model: shape, input: shape, batchSize: p.batchSize, seqLen: p.seqLen, steps: p.steps, evalPoints: 4, output });
}
