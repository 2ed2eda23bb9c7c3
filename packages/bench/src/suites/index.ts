import type { BenchSuite } from '../suite';

/** Suites load lazily so one suite's imports never slow another. */
export const suites: Record<string, { description: string; load: () => Promise<BenchSuite> }> = {};
