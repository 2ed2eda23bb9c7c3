/**
 * Checks shared by every way of starting runs (createRun, createSweep): where the recipe
 * comes from (inline or a saved version), that it parses, that uploaded task files exist
 * and parse, that the base model belongs to the project's team and is ready, and that the
 * recipe fits the run budget on that model. Errors name the field.
 */
import { readArtifact } from '@distillery/artifacts';
import { parseChoiceTask, TaskFileError } from '@distillery/eval/choice-task-file';
import { planRecipe, RecipeSchema, shapeFromStoredConfig, type Recipe } from '@distillery/techniques';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { ApiContext } from './context';
import { badInput, parseInput, zodInputError } from './errors';

const MAX_TASK_FILE_BYTES = 16 * 2 ** 20;
const UuidSchema = z.uuid('not a valid id');

/** Uploaded multiple-choice task files named in recipe.eval.tasks must exist and parse; errors name the file's line and field. */
async function checkTaskFiles(recipe: Recipe, ctx: ApiContext, field: string): Promise<void> {
  for (const [i, task] of (recipe.eval?.tasks ?? []).entries()) {
    const at = `${field}.eval.tasks[${i}].sha256`;
    if ((await ctx.store.size(task.sha256)) === null) throw badInput(at, 'nothing was uploaded with this hash; POST the task file to /upload first');
    try {
      parseChoiceTask((await readArtifact(ctx.store, task.sha256, MAX_TASK_FILE_BYTES)).toString('utf8'), task.name);
    } catch (error) {
      if (error instanceof TaskFileError) throw badInput(at, error.message);
      throw badInput(at, `the task file could not be read: ${(error as Error).message}`);
    }
  }
}

export interface RecipeSource {
  recipe: unknown;
  recipeId: string | null;
  /** The argument errors about the recipe are reported under. */
  field: string;
}

/** Exactly one of an inline recipe and a saved recipe version of the team. */
export async function recipeSource(ctx: ApiContext, teamId: string, args: { recipe?: unknown; recipeId?: string | null }): Promise<RecipeSource> {
  const inline = args.recipe !== undefined && args.recipe !== null;
  if (inline === Boolean(args.recipeId)) throw badInput('recipe', 'give exactly one of recipe and recipeId');
  if (inline) return { recipe: args.recipe, recipeId: null, field: 'recipe' };
  const id = parseInput(UuidSchema, args.recipeId, 'recipeId');
  const saved = await ctx.prisma.recipe.findUnique({ where: { id } });
  // Another team's recipe answers like a missing one.
  if (!saved || saved.teamId !== teamId) throw badInput('recipeId', "no such recipe in the project's team");
  return { recipe: saved.recipe, recipeId: saved.id, field: 'recipe' };
}

export interface RunRequest {
  projectId: string;
  teamId: string;
  baseModelId: string;
  recipe: unknown;
  field: string;
}

export async function checkRunRequest(ctx: ApiContext, r: RunRequest): Promise<{ baseModelId: string; recipe: Recipe }> {
  const baseModelId = parseInput(UuidSchema, r.baseModelId, 'baseModelId');
  const parsed = RecipeSchema.safeParse(r.recipe);
  if (!parsed.success) throw zodInputError(parsed.error, r.field);
  const recipe = parsed.data;
  await checkTaskFiles(recipe, ctx, r.field);
  const base = await ctx.prisma.model.findUnique({ where: { id: baseModelId }, select: { teamId: true, projectId: true, status: true, error: true, config: true, bytes: true } });
  // Same answer for "absent" and "another team's", so nothing leaks.
  if (!base || base.teamId !== r.teamId || (base.projectId !== null && base.projectId !== r.projectId)) {
    throw badInput('baseModelId', "no such model in this project (or shared across the project's team)");
  }
  if (base.status === 'importing') throw badInput('baseModelId', 'the model is still being imported; start the run once its status is ready');
  if (base.status === 'failed') throw badInput('baseModelId', `the model failed to import (${base.error ?? 'no reason recorded'}); import a usable model`);
  // Judged against the base model's stored config.json; a model without one is checked by the worker when it decodes it.
  const shape = shapeFromStoredConfig(base.config, Number(base.bytes));
  if (shape) {
    const plan = planRecipe(recipe, shape, ctx.config.runBudget);
    if (plan.problems.length) {
      const issues = plan.problems.map((p) => ({ field: `${r.field}.${p.path}`, message: p.message }));
      throw new GraphQLError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), {
        extensions: { code: 'BAD_USER_INPUT', field: issues[0]!.field, issues },
      });
    }
  }
  return { baseModelId, recipe };
}
