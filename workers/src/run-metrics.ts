/**
 * The Metric rows a succeeded run records, named so that each name occurs once per run:
 * the final model's figures, the base model's under `base.`, their comparison under
 * `ratio.` / `delta.`, the evaluation settings under `eval.`, and each step's numeric
 * report under `steps.<i>.`.
 */
import type { TechniqueReport } from '@distillery/techniques';
import type { EvaluateTaskOutput, EvaluationSettings, SeriesPoint } from './thread-messages';

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
  final: EvaluateTaskOutput;
  base: EvaluateTaskOutput;
  settings: EvaluationSettings;
}

function evaluationMetrics(prefix: string, e: EvaluateTaskOutput): MetricInput[] {
  const out: MetricInput[] = [
    { name: `${prefix}size.bytes`, value: e.bytes },
    { name: `${prefix}parameters`, value: e.parameters },
  ];
  if (e.perplexity !== null) {
    const p = e.perplexity;
    out.push(
      { name: `${prefix}perplexity`, value: p.perplexity },
      { name: `${prefix}nll`, value: p.nll },
      { name: `${prefix}eval.tokens`, value: p.tokens },
      { name: `${prefix}eval.windows`, value: p.windows },
      { name: `${prefix}eval.window`, value: p.window },
      { name: `${prefix}eval.stride`, value: p.stride },
    );
  }
  return out;
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
  out.push(...evaluationMetrics('', f.final), ...evaluationMetrics('base.', f.base));
  // 0 stands for "not set": the model's context, and disjoint windows.
  out.push(
    { name: 'eval.maxTokens', value: f.settings.maxTokens },
    { name: 'eval.requestedWindow', value: f.settings.window ?? 0 },
    { name: 'eval.requestedStride', value: f.settings.stride ?? 0 },
  );
  if (f.final.perplexity === null) out.push({ name: 'eval.perplexitySkipped', value: 1 });
  if (f.base.bytes > 0) out.push({ name: 'ratio.size', value: f.final.bytes / f.base.bytes });
  if (f.base.parameters > 0) out.push({ name: 'ratio.parameters', value: f.final.parameters / f.base.parameters });
  if (f.final.perplexity !== null && f.base.perplexity !== null) {
    out.push(
      { name: 'delta.perplexity', value: f.final.perplexity.perplexity - f.base.perplexity.perplexity },
      { name: 'ratio.perplexity', value: f.final.perplexity.perplexity / f.base.perplexity.perplexity },
    );
  }
  return out;
}
