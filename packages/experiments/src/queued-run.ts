/** A run row, its steps and its job, written together in the caller's transaction. */
import type { Prisma, Run } from '@distillery/db';
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
}

export async function createQueuedRun(tx: Prisma.TransactionClient, input: QueuedRunInput): Promise<Run> {
  const created = await tx.run.create({
    data: {
      projectId: input.projectId,
      baseModelId: input.baseModelId,
      recipe: input.recipe as unknown as Prisma.InputJsonValue,
      seed: input.seed,
      createdById: input.createdById,
      recipeId: input.recipeId ?? null,
      sweepId: input.sweepId ?? null,
      steps: { create: input.recipe.steps.map((s, index) => ({ index, techniqueId: s.technique, params: s.params as Prisma.InputJsonValue })) },
    },
  });
  await enqueueRun(tx, created.id);
  return created;
}
