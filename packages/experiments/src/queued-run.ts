/** A run row, its steps and its job, written together in the caller's transaction. */
import { createRun, type Prisma, type Run } from '@distillery/db';
import type { Recipe } from '@distillery/techniques';
import { enqueueRun } from './run-queue';

export interface QueuedRunInput {
  projectId: string;
  baseModelId: string;
  /** Already validated (RecipeSchema), defaults filled in. */
  recipe: Recipe;
  seed: number;
  createdById: string | null;
  recipeId?: string | null;
  sweepId?: string | null;
  tags?: string[];
  /** The run this one re-runs with identical inputs (reproduce). */
  reproductionOfId?: string | null;
}

export async function createQueuedRun(tx: Prisma.TransactionClient, input: QueuedRunInput): Promise<Run> {
  // Through the run lifecycle, which announces the new queued run.
  const created = await createRun(tx, {
    data: {
      projectId: input.projectId,
      baseModelId: input.baseModelId,
      recipe: input.recipe as unknown as Prisma.InputJsonValue,
      seed: input.seed,
      createdById: input.createdById,
      recipeId: input.recipeId ?? null,
      sweepId: input.sweepId ?? null,
      tags: input.tags ?? [],
      reproductionOfId: input.reproductionOfId ?? null,
    },
    steps: input.recipe.steps.map((s) => ({ techniqueId: s.technique, params: s.params as Prisma.InputJsonValue })),
  });
  await enqueueRun(tx, created.id);
  return created;
}
