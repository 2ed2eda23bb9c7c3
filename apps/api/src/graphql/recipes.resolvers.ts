import type { Prisma, Run, Sweep } from '@distillery/db';
import { advanceSweep, cancelSweep, gridSize, ObjectiveSchema, objectiveDirections, scheduleSweepAdvance, SweepSpaceError, SweepSpaceSchema, validateSpace } from '@distillery/experiments';
import { ParetoInputError } from '@distillery/eval/pareto';
import { CalibrationSettingsSchema, EvalSettingsSchema, RecipeSchema } from '@distillery/techniques';
import { z } from 'zod';
import { auditedTransaction } from '../audit-log';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput, zodInputError } from '../errors';
import { nameSchema } from '../names';
import { checkRunRequest, recipeSource } from '../run-request';
import type { ResolverMap } from './resolver-types';

const RecipeNameSchema = nameSchema(200);
const MAX_SWEEP_RUNS = 1_000;
const MAX_PARALLELISM = 50;
const UuidSchema = z.uuid('not a valid id');

interface CreateSweepArgs {
  projectId: string;
  baseModelId: string;
  name: string;
  mode: 'grid' | 'random' | 'pareto';
  recipe?: unknown;
  recipeId?: string | null;
  space: unknown;
  maxRuns: number;
  parallelism?: number | null;
  objective?: { x: string; y: string; xLowerIsBetter?: boolean | null; yLowerIsBetter?: boolean | null } | null;
  seed?: number | null;
}

async function readSweep(ctx: ApiContext, id: string, access: 'read' | 'write'): Promise<Sweep> {
  const sweepId = parseInput(UuidSchema, id, 'id');
  const sweep = await ctx.prisma.sweep.findUnique({ where: { id: sweepId } });
  if (!sweep) {
    await ctx.viewer();
    throw forbidden();
  }
  await authorize(ctx, { projectId: sweep.projectId }, access);
  return sweep;
}

export const recipesResolvers: ResolverMap = {
  Query: {
    async recipeSettingsSchemas(_: unknown, __: unknown, ctx: ApiContext) {
      await ctx.viewer();
      // Input side, as Query.techniques gives the steps' parameters.
      const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
      return { eval: schema(EvalSettingsSchema), calibration: schema(CalibrationSettingsSchema) };
    },
    async recipes(_: unknown, args: { teamId: string; name?: string | null }, ctx: ApiContext) {
      await authorize(ctx, { teamId: args.teamId }, 'read');
      if (args.name) return ctx.prisma.recipe.findMany({ where: { teamId: args.teamId, name: args.name }, orderBy: { version: 'desc' } });
      return ctx.prisma.recipe.findMany({ where: { teamId: args.teamId }, orderBy: [{ name: 'asc' }, { version: 'desc' }], distinct: ['name'] });
    },
    async sweep(_: unknown, args: { id: string }, ctx: ApiContext) {
      return readSweep(ctx, args.id, 'read');
    },
    async sweeps(_: unknown, args: { projectId: string }, ctx: ApiContext) {
      await authorize(ctx, { projectId: args.projectId }, 'read');
      return ctx.prisma.sweep.findMany({ where: { projectId: args.projectId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 200 });
    },
  },
  Mutation: {
    async saveRecipe(_: unknown, args: { teamId: string; name: string; recipe: unknown; description?: string | null }, ctx: ApiContext) {
      const { viewer } = await authorize(ctx, { teamId: args.teamId }, 'write');
      const name = parseInput(RecipeNameSchema, args.name, 'name');
      const parsed = RecipeSchema.safeParse(args.recipe);
      if (!parsed.success) throw zodInputError(parsed.error, 'recipe');
      const recipe = parsed.data as unknown as Prisma.InputJsonValue;
      return auditedTransaction(ctx, async (tx) => {
        // Serializes saves of one name, so two clients cannot both take the next version.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`recipe:${args.teamId}:${name}`}))`;
        const latest = await tx.recipe.findFirst({ where: { teamId: args.teamId, name }, orderBy: { version: 'desc' } });
        // jsonb equality ignores key order, so a re-save of the same content is not a new version.
        if (latest) {
          const same = await tx.$queryRaw<{ same: boolean }[]>`SELECT ${JSON.stringify(recipe)}::jsonb = ${JSON.stringify(latest.recipe)}::jsonb AS same`;
          if (same[0]?.same) return latest;
        }
        return tx.recipe.create({ data: { teamId: args.teamId, name, version: (latest?.version ?? 0) + 1, recipe, description: args.description ?? null, createdById: viewer.userId } });
      });
    },
    async createSweep(_: unknown, args: CreateSweepArgs, ctx: ApiContext) {
      const { teamId, viewer } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const name = parseInput(RecipeNameSchema, args.name, 'name');
      const seed = parseInput(z.number().int().min(0).max(2 ** 31 - 1), args.seed ?? 0, 'seed');
      if (!Number.isInteger(args.maxRuns) || args.maxRuns < 1 || args.maxRuns > MAX_SWEEP_RUNS) throw badInput('maxRuns', `must be between 1 and ${MAX_SWEEP_RUNS}`);
      const parallelism = args.parallelism ?? 2;
      if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > MAX_PARALLELISM) throw badInput('parallelism', `must be between 1 and ${MAX_PARALLELISM}`);
      const space = parseInput(SweepSpaceSchema, args.space, 'space');
      const source = await recipeSource(ctx, teamId, args);
      const { baseModelId, recipe } = await checkRunRequest(ctx, { projectId: args.projectId, teamId, baseModelId: args.baseModelId, recipe: source.recipe, field: source.field });
      let objective: z.output<typeof ObjectiveSchema> | null = null;
      try {
        if (args.mode !== 'random') gridSize(space);
        // Each value, set alone in the template, must give a valid recipe: errors name the path and value.
        const problem = validateSpace(recipe, space);
        if (problem) throw badInput('space', problem);
        if (args.mode === 'pareto') {
          if (!args.objective) throw badInput('objective', 'a pareto sweep needs the two metrics to search on');
          objective = ObjectiveSchema.parse(args.objective);
          if (objective.x === objective.y) throw badInput('objective.y', 'pick two different metrics');
          objectiveDirections(objective);
        }
      } catch (e) {
        if (e instanceof SweepSpaceError) throw badInput('space', e.message);
        if (e instanceof ParetoInputError) throw badInput('objective', e.message);
        throw e;
      }
      const sweep = await ctx.prisma.sweep.create({
        data: {
          projectId: args.projectId,
          baseModelId,
          name,
          mode: args.mode,
          recipe: recipe as unknown as Prisma.InputJsonValue,
          space: space as unknown as Prisma.InputJsonValue,
          maxRuns: args.maxRuns,
          parallelism,
          objective: (objective ?? undefined) as Prisma.InputJsonValue | undefined,
          seed,
          createdById: viewer.userId,
        },
      });
      // The first runs start now; the advance-sweep job starts the rest as these finish.
      const first = await advanceSweep(ctx.prisma, sweep.id);
      if (first.status === 'active') await scheduleSweepAdvance(ctx.prisma, sweep.id, 0);
      ctx.log.info({ sweepId: sweep.id, mode: args.mode, started: first.created.length }, 'sweep started');
      return ctx.prisma.sweep.findUniqueOrThrow({ where: { id: sweep.id } });
    },
    async cancelSweep(_: unknown, args: { id: string }, ctx: ApiContext) {
      const sweep = await readSweep(ctx, args.id, 'write');
      const after = await cancelSweep(ctx.prisma, sweep.id);
      ctx.log.info({ sweepId: sweep.id, status: after?.status }, 'sweep cancel requested');
      return after ?? sweep;
    },
  },
  Run: {
    savedRecipeId: (r: Run) => r.recipeId,
    sweepId: (r: Run) => r.sweepId,
  },
  Sweep: {
    async project(s: Sweep, _: unknown, ctx: ApiContext) {
      return ctx.loaders.project.load(s.projectId);
    },
    async baseModel(s: Sweep, _: unknown, ctx: ApiContext) {
      return ctx.loaders.model.load(s.baseModelId);
    },
    async runs(s: Sweep, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: s.projectId }, 'read');
      return ctx.prisma.run.findMany({ where: { sweepId: s.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
  },
};
