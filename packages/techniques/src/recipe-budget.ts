/**
 * A parsed recipe judged against the base model's shape and a worker's budget before it
 * runs: each step's own `check`, then its estimated peak memory against the memory
 * budget, and the whole run's estimated time (steps plus scoring the output and the base
 * model) against the time limit. Problems name the field to change.
 */
import type { Recipe } from './recipe';
import { formatIssuePath } from './recipe';
import { registry as builtinRegistry, type TechniqueRegistry } from './registry';
import { secondsOf, type ModelShape, type StepEstimate, type WorkerBudget } from './budget';
import { estimatePerplexity, estimateWeightRewrite } from './step-estimates';

export interface BudgetProblem {
  /** `steps[0].params.student.layers`, relative to the recipe. */
  path: string;
  message: string;
}

export interface PlannedStep {
  index: number;
  technique: string;
  peakBytes: number;
  seconds: number;
}

export interface RecipePlan {
  problems: BudgetProblem[];
  steps: PlannedStep[];
  /** Scoring the final and the base model. */
  evaluationSeconds: number;
  seconds: number;
  peakBytes: number;
}

export interface PlanEval {
  maxTokens: number;
  window?: number;
  stride?: number;
}

const GB = 2 ** 30;
export const formatBytes = (b: number): string => (b >= GB ? `${(b / GB).toFixed(1)} GB` : `${Math.ceil(b / 2 ** 20)} MB`);
export const formatSeconds = (s: number): string =>
  s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;

/** The step's estimate; techniques without one are one-pass rewrites that keep the weights' width. */
function estimateStep(technique: { estimate?: (p: never, s: ModelShape) => StepEstimate }, params: unknown, shape: ModelShape): StepEstimate {
  return technique.estimate ? technique.estimate(params as never, shape) : estimateWeightRewrite(shape, shape.bytesPerParameter);
}

export function planRecipe(recipe: Recipe, shape: ModelShape, budget: WorkerBudget, reg: TechniqueRegistry = builtinRegistry): RecipePlan {
  const problems: BudgetProblem[] = [];
  const steps: PlannedStep[] = [];
  let current = shape;
  let peakBytes = 0;
  for (let i = 0; i < recipe.steps.length; i++) {
    const step = recipe.steps[i]!;
    const technique = reg.get(step.technique);
    const issues = technique.check?.(step.params as never, current) ?? [];
    for (const issue of issues) problems.push({ path: formatIssuePath(['steps', i, 'params', ...issue.path]), message: issue.message });
    // Later steps' shapes depend on this one, which cannot run as asked.
    if (issues.length) break;
    const e = estimateStep(technique, step.params, current);
    const seconds = secondsOf(e, budget.flopsPerSecond);
    steps.push({ index: i, technique: step.technique, peakBytes: e.peakBytes, seconds });
    peakBytes = Math.max(peakBytes, e.peakBytes);
    if (e.peakBytes > budget.memoryBytes) {
      problems.push({
        path: formatIssuePath(['steps', i]),
        message:
          `${step.technique} needs an estimated ${formatBytes(e.peakBytes)} at its peak on this model, more than the worker's memory budget ` +
          `of ${formatBytes(budget.memoryBytes)} (WORKER_MEMORY_BUDGET_MB); lower batchSize or seqLen, or use a smaller model`,
      });
    }
    current = e.output;
  }
  const window = (s: ModelShape) => recipe.eval?.window ?? s.maxPositions;
  const evalOf = (s: ModelShape) =>
    estimatePerplexity(s, { tokens: recipe.eval?.maxTokens ?? 4096, window: window(s), stride: recipe.eval?.stride ?? window(s) });
  const evaluationSeconds = problems.length ? 0 : secondsOf(evalOf(current), budget.flopsPerSecond) + secondsOf(evalOf(shape), budget.flopsPerSecond);
  const seconds = steps.reduce((a, s) => a + s.seconds, 0) + evaluationSeconds;
  if (!problems.length && seconds > budget.seconds) {
    const longest = steps.reduce<PlannedStep | null>((a, s) => (a === null || s.seconds > a.seconds ? s : a), null);
    const evaluationDominates = longest === null || evaluationSeconds > longest.seconds;
    const parts = steps.map((s) => `step ${s.index} ${s.technique}: ${formatSeconds(s.seconds)}`).concat(`evaluation: ${formatSeconds(evaluationSeconds)}`);
    const longestParams = longest ? recipe.steps[longest.index]!.params : {};
    problems.push({
      path: evaluationDominates ? 'eval' : formatIssuePath(['steps', longest.index, ...('steps' in longestParams ? ['params', 'steps'] : [])]),
      message: `the run would take an estimated ${formatSeconds(seconds)} (${parts.join(', ')}), more than the run time limit of ${formatSeconds(budget.seconds)} (RUN_TIME_LIMIT_S)`,
    });
  }
  return { problems, steps, evaluationSeconds, seconds, peakBytes };
}
