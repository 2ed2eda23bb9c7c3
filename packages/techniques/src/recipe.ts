/**
 * A recipe is an ordered list of technique steps. Parsing validates every step's params
 * with that technique's own schema, so a bad recipe fails before any work starts, with
 * errors that point at the field (`steps[0].params.bits: ...`).
 */
import { z } from 'zod';
import type { Model } from '@distillery/onnx';
import { registry as builtinRegistry, type TechniqueRegistry } from './registry';
import type { TechniqueContext, TechniqueReport } from './technique';
import { throwIfCanceled } from './canceled';
import { MAX_RECIPE_STEPS } from './budget';

export interface RecipeStep {
  technique: string;
  params: Record<string, unknown>;
}

/** How a run's result is evaluated (the worker's defaults apply where a field is absent). */
export const SensitivitySettingsSchema = z
  .object({
    /** Round-to-nearest probes (symmetric, per output channel). */
    bits: z.array(z.number().int().min(2).max(8)).min(1).max(7).optional(),
    /** Magnitude-pruning probes (fraction of each layer's weights set to zero). */
    sparsity: z.array(z.number().min(0).max(0.95)).min(1).max(8).optional(),
    sequences: z.number().int().min(1).max(64).default(8),
    length: z.number().int().min(2).max(512).default(128),
  })
  .strict()
  .refine((s) => (s.bits?.length ?? 0) + (s.sparsity?.length ?? 0) > 0, { message: 'give at least one probe: bits or sparsity', path: ['bits'] });
export type SensitivitySettings = z.output<typeof SensitivitySettingsSchema>;

export const EvalSettingsSchema = z
  .object({
    maxTokens: z.number().int().min(2).max(1_000_000).default(4096),
    window: z.number().int().min(2).optional(),
    stride: z.number().int().min(1).optional(),
    /** Windows per ORT call. */
    batch: z.number().int().min(1).max(64).optional(),
    /** ORT intra-op threads for the output model's evaluation (default: every core). */
    threads: z.number().int().min(1).max(64).optional(),
    latencyPromptLength: z.number().int().min(1).max(8192).optional(),
    latencyDecodeTokens: z.number().int().min(1).max(1024).optional(),
    clozeItems: z.number().int().min(0).max(1000).optional(),
    /** Items per bundled multiple-choice task (0 skips them). */
    choiceItems: z.number().int().min(0).max(1000).optional(),
    /** Multiple-choice task files (JSONL of {context, choices, gold}) uploaded with POST /upload. */
    tasks: z
      .array(z.object({ name: z.string().regex(/^[\w.-]{1,64}$/, 'letters, digits, _ . - (at most 64)'), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits, as POST /upload returns') }).strict())
      .max(8)
      .optional(),
    /**
     * Per-layer sensitivity of the output model (measureSensitivity): one row per linear
     * layer and probe, on `sequences` windows of `length` tokens sampled from the bundled
     * validation split; stored in Run.evaluation.sensitivity.
     */
    sensitivity: SensitivitySettingsSchema.optional(),
  })
  .strict();
export type EvalSettings = z.output<typeof EvalSettingsSchema>;

/**
 * The calibration text techniques receive as `ctx.calibration`: `sequences` windows of
 * `length` tokens sampled with `seed` from a bundled split or a team dataset (by id),
 * tokenized with the base model's tokenizer. The worker stores the sampled tokens as an
 * artifact of the run, so its content hash identifies exactly what the run calibrated on.
 */
export const CalibrationSettingsSchema = z
  .object({
    source: z
      .string()
      .regex(
        /^(bundled:(train|validation)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/,
        "source must be 'bundled:train', 'bundled:validation' or a dataset id",
      )
      .default('bundled:train'),
    sequences: z.number().int().min(1).max(4096).default(32),
    length: z.number().int().min(2).max(8192).default(256),
    seed: z.number().int().nonnegative().default(0),
  })
  .strict();
export type CalibrationSettings = z.output<typeof CalibrationSettingsSchema>;

export interface Recipe {
  steps: RecipeStep[];
  eval?: EvalSettings;
  calibration?: CalibrationSettings;
}

const rawStep = z.object({
  technique: z.string().min(1).max(100, 'a technique id is at most 100 characters'),
  params: z.record(z.string(), z.unknown()).default({}),
});

/** A zod schema for recipes over `reg`; parsed params have the technique's defaults applied. */
export function recipeSchema(reg: TechniqueRegistry = builtinRegistry): z.ZodType<Recipe, unknown> {
  return z
    .object({
      steps: z.array(rawStep).min(1, 'a recipe needs at least one step').max(MAX_RECIPE_STEPS, `a recipe has at most ${MAX_RECIPE_STEPS} steps`),
      eval: EvalSettingsSchema.optional(),
      calibration: CalibrationSettingsSchema.optional(),
    })
    .transform((recipe, ctx): Recipe => {
      const steps: RecipeStep[] = [];
      recipe.steps.forEach((step, i) => {
        if (!reg.has(step.technique)) {
          ctx.issues.push({
            code: 'custom',
            input: step.technique,
            path: ['steps', i, 'technique'],
            message: `unknown technique "${step.technique}"; known techniques: ${reg.list().map((t) => t.id).join(', ')}`,
          });
          return;
        }
        const parsed = reg.get(step.technique).params.safeParse(step.params);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) {
            ctx.issues.push({ code: 'custom', input: step.params, path: ['steps', i, 'params', ...issue.path], message: issue.message });
          }
          return;
        }
        steps.push({ technique: step.technique, params: parsed.data as Record<string, unknown> });
      });
      return { steps, ...(recipe.eval ? { eval: recipe.eval } : {}), ...(recipe.calibration ? { calibration: recipe.calibration } : {}) };
    });
}

/** The recipe schema over the built-in registry. */
export const RecipeSchema = recipeSchema();

/** `steps[0].params.bits` style path, as users write it. */
export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export class RecipeError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid recipe:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'RecipeError';
  }
}

/** Parse and validate; throws RecipeError listing every problem as `path: message`. */
export function parseRecipe(input: unknown, reg: TechniqueRegistry = builtinRegistry): Recipe {
  const res = (reg === builtinRegistry ? RecipeSchema : recipeSchema(reg)).safeParse(input);
  if (res.success) return res.data;
  throw new RecipeError(res.error.issues.map((i) => `${formatIssuePath(i.path) || '(recipe)'}: ${i.message}`));
}

export interface RecipeStepReport {
  technique: string;
  report: TechniqueReport;
}

/**
 * Apply a parsed recipe's steps in order. Progress is split evenly across steps;
 * cancellation is checked between steps as well as inside each technique.
 */
export async function applyRecipe(
  model: Model,
  recipe: Recipe,
  ctx: TechniqueContext,
  reg: TechniqueRegistry = builtinRegistry,
): Promise<{ model: Model; steps: RecipeStepReport[] }> {
  const n = recipe.steps.length;
  const reports: RecipeStepReport[] = [];
  let current = model;
  for (let i = 0; i < n; i++) {
    throwIfCanceled(ctx.signal, 'recipe');
    const step = recipe.steps[i]!;
    const technique = reg.get(step.technique);
    // Re-parse so callers may pass a recipe that was not parsed with defaults applied.
    const params = technique.params.parse(step.params);
    const stepCtx: TechniqueContext = {
      ...ctx,
      onProgress: (f, message) => ctx.onProgress((i + Math.min(1, Math.max(0, f))) / n, message ?? step.technique),
    };
    const out = await technique.apply(current, params, stepCtx);
    reports.push({ technique: step.technique, report: out.report });
    current = out.model;
  }
  ctx.onProgress(1, 'done');
  return { model: current, steps: reports };
}
