/** The training-run parameters shared by the fine-tuning techniques, validated with zod. */
import { z } from 'zod';

const positiveInt = (field: string) => z.number({ error: `${field} must be a number` }).int(`${field} must be an integer`).positive(`${field} must be positive`);

export const trainingRunParams = {
  steps: positiveInt('steps').default(100),
  lr: z.number().positive('lr must be positive').default(3e-4),
  batchSize: positiveInt('batchSize').default(8),
  seqLen: positiveInt('seqLen').default(128),
  warmup: z.number().int('warmup must be an integer').nonnegative('warmup must be >= 0').default(10),
  seed: z.number().int('seed must be an integer').default(0),
};
