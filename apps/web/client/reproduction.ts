/**
 * The run page's reproduction queries (reproduce(runId) and the per-metric verdict of a
 * re-run) and the words the page puts on a verdict. The verdict itself is the API's
 * (packages/eval reproduction.ts); this only arranges it for reading. Pure.
 */

export type ReproductionVerdict = 'pending' | 'reproduced' | 'differs' | 'rerunFailed';

export interface MetricReproduction {
  name: string;
  step: number | null;
  original: number | null;
  rerun: number | null;
  toleranceKind: 'exact' | 'relative' | 'notCompared';
  relativeTolerance: number | null;
  reason: string | null;
  withinTolerance: boolean | null;
}

export interface Reproduction {
  verdict: ReproductionVerdict;
  sameThreads: boolean;
  notes: string[];
  compared: number;
  outside: number;
  metrics: MetricReproduction[];
}

export interface ReRun {
  id: string;
  status: string;
  createdAt: string;
  reproduction: Reproduction | null;
}

export interface ReproductionsAnswer {
  run: { id: string; reproductionOf: { id: string } | null; reproduction: Reproduction | null; reproductions: ReRun[] };
}

const VERDICT = `verdict sameThreads notes compared outside metrics { name step original rerun toleranceKind relativeTolerance reason withinTolerance }`;

export const REPRODUCTIONS = `query Reproductions($id: ID!) {
  run(id: $id) { id reproductionOf { id } reproduction { ${VERDICT} } reproductions { id status createdAt reproduction { ${VERDICT} } } }
}`;

export const REPRODUCE = `mutation Reproduce($runId: ID!) { reproduce(runId: $runId) { id status } }`;

export function verdictHeadline(r: Reproduction): string {
  switch (r.verdict) {
    case 'pending':
      return 'Re-running with the same inputs…';
    case 'reproduced':
      return `Reproduced: all ${r.compared} compared figures are within tolerance.`;
    case 'differs':
      return `Not reproduced: ${r.outside} of ${r.compared} compared figures are outside tolerance.`;
    case 'rerunFailed':
      return 'The re-run did not succeed, so nothing was compared.';
  }
}

export function toleranceText(m: MetricReproduction): string {
  if (m.toleranceKind === 'exact') return 'exact';
  if (m.toleranceKind === 'relative' && m.relativeTolerance !== null) return `±${m.relativeTolerance.toExponential(0)} relative`;
  return m.reason ?? 'not compared';
}

export interface ReproductionView {
  /** Single figures (no step), outside tolerance first, then by name. */
  figures: MetricReproduction[];
  /** Points of series (training curves), counted rather than listed. */
  seriesPoints: number;
  seriesOutside: MetricReproduction[];
  notCompared: MetricReproduction[];
}

export function reproductionView(r: Reproduction): ReproductionView {
  const compared = r.metrics.filter((m) => m.toleranceKind !== 'notCompared');
  const single = compared.filter((m) => m.step === null);
  const series = compared.filter((m) => m.step !== null);
  const rank = (m: MetricReproduction) => (m.withinTolerance === false ? 0 : 1);
  return {
    figures: [...single].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)),
    seriesPoints: series.length,
    seriesOutside: series.filter((m) => m.withinTolerance === false),
    notCompared: r.metrics.filter((m) => m.toleranceKind === 'notCompared' && m.step === null),
  };
}
