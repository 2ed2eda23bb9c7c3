/**
 * The Metric rows a succeeded run records. Evaluation figures are recorded by metric
 * catalogue entry and scope (packages/eval metric-catalogue.ts): the output model's, the
 * base model's, their ratio and difference where the catalogue defines them, and the
 * evaluation settings. Each step's numeric report is recorded under `steps.<i>.`, named by
 * the technique.
 */
import { EVAL_SUITE_VERSION, metricCatalogue, metricKeys, metricName, type MetricKey, type ModelFigures, type SuiteSettings } from '@distillery/eval';
import type { TechniqueReport } from '@distillery/techniques';
import type { SeriesPoint } from './thread-messages';

export interface MetricInput {
  name: string;
  value: number;
  /** Set for a step's own figures. */
  runStepId?: string;
  /** Position in a series (training step); absent for single values. */
  step?: number;
}

export interface StepFigures {
  index: number;
  runStepId: string;
  report: TechniqueReport;
  bytes: number;
  parameters: number;
  /** Series the technique reported (loss curves), recorded under `steps.<i>.<name>`. */
  series?: SeriesPoint[];
}

export interface RunFigures {
  steps: StepFigures[];
  final: ModelFigures;
  base: ModelFigures;
  settings: SuiteSettings;
}

const finite = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

function evaluationMetrics(final: ModelFigures, base: ModelFigures): MetricInput[] {
  const out: MetricInput[] = [];
  for (const key of metricKeys) {
    const names = metricCatalogue[key].names;
    const f = final[key];
    const b = base[key];
    if (names.model && finite(f)) out.push({ name: names.model, value: f });
    if (names.base && finite(b)) out.push({ name: names.base, value: b });
    if (names.ratio && finite(f) && finite(b) && b !== 0) out.push({ name: names.ratio, value: f / b });
    if (names.delta && finite(f) && finite(b)) out.push({ name: names.delta, value: f - b });
  }
  return out;
}

function settingMetrics(s: SuiteSettings, perplexitySkipped: boolean): MetricInput[] {
  // 0 stands for "not set": the model's context, and disjoint windows.
  const values: [MetricKey, number][] = [
    ['maxTokens', s.maxTokens],
    ['requestedWindow', s.window ?? 0],
    ['requestedStride', s.stride ?? 0],
    ['ortThreads', s.threads],
    ['batchWindows', s.batch],
    ['suiteVersion', EVAL_SUITE_VERSION],
  ];
  if (perplexitySkipped) values.push(['perplexitySkipped', 1]);
  return values.map(([key, value]) => ({ name: metricName(key, 'setting'), value }));
}

export function runMetrics(f: RunFigures): MetricInput[] {
  const out: MetricInput[] = [];
  for (const s of f.steps) {
    const at = `steps.${s.index}.`;
    out.push({ name: `${at}size.bytes`, value: s.bytes, runStepId: s.runStepId });
    out.push({ name: `${at}parameters`, value: s.parameters, runStepId: s.runStepId });
    for (const [key, value] of Object.entries(s.report)) {
      // Metrics are numbers; string entries stay in the run's report artifact.
      if (typeof value === 'number' && Number.isFinite(value)) out.push({ name: `${at}report.${key}`, value, runStepId: s.runStepId });
    }
    for (const p of s.series ?? []) out.push({ name: `${at}${p.name}`, value: p.value, step: p.step, runStepId: s.runStepId });
  }
  out.push(...evaluationMetrics(f.final, f.base), ...settingMetrics(f.settings, f.final.perplexity === undefined));
  return out;
}
