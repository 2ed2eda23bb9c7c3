/**
 * Whether a re-run reproduced a run: every metric point of the two runs compared with a
 * tolerance that follows from what the metric is (metric catalogue family and unit).
 * Counts and sizes are exact; figures summed in floating point (perplexity, divergence,
 * task scores, step reports, loss curves) agree to 1e-6 relative when the ORT thread
 * layout is the same, and only to 1e-3 when it differs (the summation order changes the
 * last bits, which training then amplifies); timings and memory depend on the machine and
 * its load and are shown but not judged.
 */
import { describeMetric } from './metric-catalogue';

export type Tolerance = { kind: 'exact' } | { kind: 'relative'; value: number } | { kind: 'not-compared'; why: string };

export const SAME_LAYOUT_RELATIVE = 1e-6;
export const OTHER_LAYOUT_RELATIVE = 1e-3;

const TIMING_UNITS = new Set(['ms', 's', 'seconds', 'tokens/s']);

/** The tolerance of a stored metric name; `sameThreads`: both runs used the same ORT thread layout. */
export function toleranceFor(name: string, sameThreads: boolean): Tolerance {
  const relative: Tolerance = { kind: 'relative', value: sameThreads ? SAME_LAYOUT_RELATIVE : OTHER_LAYOUT_RELATIVE };
  const d = describeMetric(name);
  if (d === undefined) {
    // A step's own figures: its output's size and parameter count are exact, the rest is arithmetic.
    return /^steps\.\d+\.(size\.bytes|parameters)$/.test(name) ? { kind: 'exact' } : relative;
  }
  if (TIMING_UNITS.has(d.unit) || d.unit.endsWith('/s')) return { kind: 'not-compared', why: 'a timing depends on the machine and its load' };
  if (d.family === 'memory') return { kind: 'not-compared', why: 'memory use depends on the allocator and the process' };
  if (d.family === 'latency') return d.lowerIsBetter === null ? { kind: 'exact' } : { kind: 'not-compared', why: 'a timing depends on the machine and its load' };
  if (d.family === 'size' || d.family === 'setting') return { kind: 'exact' };
  if (d.unit === 'count' || d.unit === 'tokens' || d.unit === 'bytes') return { kind: 'exact' };
  return relative;
}

export function withinTolerance(original: number, rerun: number, t: Tolerance): boolean | null {
  if (t.kind === 'not-compared') return null;
  if (t.kind === 'exact') return Object.is(original, rerun) || original === rerun;
  if (original === rerun) return true;
  const scale = Math.max(Math.abs(original), Math.abs(rerun));
  return Math.abs(original - rerun) <= t.value * scale;
}

export interface MetricPointValue {
  name: string;
  step: number | null;
  value: number;
}

export interface MetricComparison {
  name: string;
  step: number | null;
  original: number | null;
  rerun: number | null;
  tolerance: Tolerance;
  /** null: not compared (a timing), or recorded by only one of the runs counts as false. */
  withinTolerance: boolean | null;
}

export type ReproductionVerdict = 'reproduced' | 'differs';

export interface ReproductionReport {
  verdict: ReproductionVerdict;
  compared: number;
  outside: number;
  metrics: MetricComparison[];
}

const keyOf = (p: { name: string; step: number | null }) => `${p.name}\u0000${p.step ?? ''}`;

/** Compares the two runs point by point (a series point by its step); a point only one run recorded differs. */
export function compareRuns(original: readonly MetricPointValue[], rerun: readonly MetricPointValue[], sameThreads: boolean): ReproductionReport {
  const a = new Map(original.map((p) => [keyOf(p), p]));
  const b = new Map(rerun.map((p) => [keyOf(p), p]));
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const metrics: MetricComparison[] = keys.map((k) => {
    const o = a.get(k);
    const r = b.get(k);
    const name = (o ?? r)!.name;
    const step = (o ?? r)!.step;
    const tolerance = toleranceFor(name, sameThreads);
    const within = o === undefined || r === undefined ? (tolerance.kind === 'not-compared' ? null : false) : withinTolerance(o.value, r.value, tolerance);
    return { name, step, original: o?.value ?? null, rerun: r?.value ?? null, tolerance, withinTolerance: within };
  });
  const compared = metrics.filter((m) => m.withinTolerance !== null).length;
  const outside = metrics.filter((m) => m.withinTolerance === false).length;
  return { verdict: outside === 0 ? 'reproduced' : 'differs', compared, outside, metrics };
}
