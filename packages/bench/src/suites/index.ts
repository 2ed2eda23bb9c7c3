import type { BenchSuite } from '../suite';

/** Suites load lazily so one suite's imports never slow another. */
export const suites: Record<string, { description: string; load: () => Promise<BenchSuite> }> = {
  'model-core': {
    description: 'tokenizer speed; 100M-parameter decoder build + load time',
    load: async () => (await import('./model-core')).default,
  },
};
