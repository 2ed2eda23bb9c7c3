import { createRun as createRunRecord, lockRun, requestCancel, transitionRun, transitionSteps, type Artifact, type Prisma, type Run, type RunStatus, type RunStep } from '@distillery/db';
import { parseChoiceTask, TaskFileError } from '@distillery/eval/choice-task-file';
import { catalogueNames, describeMetric } from '@distillery/eval/metric-catalogue';
import { readArtifact } from '@distillery/artifacts';
import { planRecipe, RecipeSchema, registry, seedRecipe, shapeFromStoredConfig, type Recipe } from '@distillery/techniques';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { decodeCursor, encodeCursor } from '../cursor';
import { badInput, conflict, forbidden, parseInput, zodInputError } from '../errors';
import { labelConditions, parseTags, type ParamFilter } from '../run-labels';
import { dequeueRun, enqueueRun } from '../run-queue';
import type { ResolverMap } from './resolver-types';

const MAX_PAGE = 100;
const MAX_SERIES_POINTS = 10_000;

interface RunFilter {
  status?: RunStatus | null;
  baseModelId?: string | null;
  createdAfter?: Date | null;
  tags?: string[] | null;
  param?: ParamFilter | null;
}

interface MetricRow {
  name: string;
  value: number;
  step: number | null;
  runStepId: string | null;
  createdAt: Date;
}

const MAX_TASK_FILE_BYTES = 16 * 2 ** 20;

/** Uploaded multiple-choice task files named in recipe.eval.tasks must exist and parse; errors name the file's line and field. */
async function checkTaskFiles(recipe: Recipe, ctx: ApiContext): Promise<void> {
  for (const [i, task] of (recipe.eval?.tasks ?? []).entries()) {
    const field = `recipe.eval.tasks[${i}].sha256`;
    if ((await ctx.store.size(task.sha256)) === null) throw badInput(field, 'nothing was uploaded with this hash; POST the task file to /upload first');
    try {
      parseChoiceTask((await readArtifact(ctx.store, task.sha256, MAX_TASK_FILE_BYTES)).toString('utf8'), task.name);
    } catch (error) {
      if (error instanceof TaskFileError) throw badInput(field, error.message);
      throw badInput(field, `the task file could not be read: ${(error as Error).message}`);
    }
  }
}

const SeedSchema = z.number().int().min(0).max(2 ** 31 - 1);
const UuidSchema = z.uuid('not a valid id');

export const runsResolvers: ResolverMap = {
  Query: {
    async metricCatalogue(_: unknown, __: unknown, ctx: ApiContext) {
      await ctx.viewer();
      return catalogueNames().map(({ name, description }) => ({ name, ...description }));
    },
    async techniques(_: unknown, __: unknown, ctx: ApiContext) {
      await ctx.viewer();
      return registry.list().map((t) => ({
        id: t.id,
        family: t.family,
        title: t.title,
        description: t.description,
        // Input side: what a client may send, defaults marked as such.
        paramsSchema: z.toJSONSchema(t.params, { io: 'input', unrepresentable: 'any' }),
      }));
    },
    async run(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Run> {
      await authorize(ctx, { runId: args.id }, 'read');
      const run = await ctx.prisma.run.findUnique({ where: { id: args.id } });
      if (!run) throw forbidden();
      return run;
    },
    async runs(_: unknown, args: { projectId: string; filter?: RunFilter | null; first?: number | null; after?: string | null }, ctx: ApiContext) {
      await authorize(ctx, { projectId: args.projectId }, 'read');
      const first = args.first ?? 20;
      if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput('first', `must be between 1 and ${MAX_PAGE}`);
      const filter = args.filter ?? {};
      const and: Prisma.RunWhereInput[] = [{ projectId: args.projectId }];
      if (filter.status) and.push({ status: filter.status });
      if (filter.baseModelId) and.push({ baseModelId: parseInput(UuidSchema, filter.baseModelId, 'filter.baseModelId') });
      if (filter.createdAfter) and.push({ createdAt: { gt: filter.createdAfter } });
      and.push(...(await labelConditions(ctx.prisma, args.projectId, filter)));
      if (args.after) {
        const key = decodeCursor(args.after);
        if (!key) throw badInput('after', 'not a cursor returned by this API');
        and.push({ OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }] });
      }
      const rows = await ctx.prisma.run.findMany({
        where: { AND: and },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
      });
      const page = rows.slice(0, first);
      const edges = page.map((node) => ({ node, cursor: encodeCursor(node) }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > first,
          // Forward-only pagination, as the Relay spec allows.
          hasPreviousPage: false,
          startCursor: edges[0]?.cursor ?? null,
          endCursor: edges.at(-1)?.cursor ?? null,
        },
      };
    },
  },
  Mutation: {
    async createRun(_: unknown, args: { projectId: string; baseModelId: string; recipe: unknown; seed?: number | null; tags?: string[] | null }, ctx: ApiContext) {
      const { teamId, viewer } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const baseModelId = parseInput(UuidSchema, args.baseModelId, 'baseModelId');
      const seed = parseInput(SeedSchema, args.seed ?? 0, 'seed');
      const tags = parseTags(args.tags ?? [], 'tags');
      // Seeds the recipe leaves open come from the run's seed, and are stored with it.
      const parsed = RecipeSchema.safeParse(seedRecipe(args.recipe, seed, registry));
      if (!parsed.success) throw zodInputError(parsed.error, 'recipe');
      const recipe = parsed.data;
      await checkTaskFiles(recipe, ctx);
      const base = await ctx.prisma.model.findUnique({ where: { id: baseModelId }, select: { teamId: true, projectId: true, status: true, error: true, config: true, bytes: true } });
      // Same answer for "absent" and "another team's", so nothing leaks.
      if (!base || base.teamId !== teamId || (base.projectId !== null && base.projectId !== args.projectId)) {
        throw badInput('baseModelId', "no such model in this project (or shared across the project's team)");
      }
      if (base.status === 'importing') throw badInput('baseModelId', 'the model is still being imported; start the run once its status is ready');
      if (base.status === 'failed') throw badInput('baseModelId', `the model failed to import (${base.error ?? 'no reason recorded'}); import a usable model`);
      // Judged against the base model's stored config.json; a model without one is checked by the worker when it decodes it.
      const shape = shapeFromStoredConfig(base.config, Number(base.bytes));
      if (shape) {
        const plan = planRecipe(recipe, shape, ctx.config.runBudget);
        if (plan.problems.length) {
          const issues = plan.problems.map((p) => ({ field: `recipe.${p.path}`, message: p.message }));
          throw new GraphQLError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), {
            extensions: { code: 'BAD_USER_INPUT', field: issues[0]!.field, issues },
          });
        }
      }
      const run = await ctx.prisma.$transaction(async (tx) => {
        const created = await createRunRecord(tx, {
          data: { projectId: args.projectId, baseModelId, recipe: recipe as unknown as Prisma.InputJsonValue, seed, tags, createdById: viewer.userId },
          steps: recipe.steps.map((s) => ({ techniqueId: s.technique, params: s.params as Prisma.InputJsonValue })),
        });
        await enqueueRun(tx, created.id);
        return created;
      });
      ctx.log.info({ runId: run.id, projectId: args.projectId, steps: recipe.steps.length }, 'run queued');
      return run;
    },
    async cancelRun(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Run> {
      await authorize(ctx, { runId: args.id }, 'write');
      const run = await ctx.prisma.$transaction(async (tx) => {
        // Conditional: a worker may pick the run up concurrently.
        const now = new Date();
        const queued = await lockRun(tx, args.id, { status: ['queued'] });
        if (queued) {
          await transitionSteps(tx, queued, 'canceled', { status: ['queued'] }, { finishedAt: now });
          await dequeueRun(tx, args.id);
          return (await transitionRun(tx, args.id, 'canceled', { status: ['queued'] }, { finishedAt: now }))!;
        }
        // The executing worker sees the flag on its next heartbeat and stops at a safe point.
        return (await requestCancel(tx, args.id)) ?? tx.run.findUniqueOrThrow({ where: { id: args.id } });
      });
      if (run.status === 'canceled' || run.status === 'running') return run;
      throw conflict(`the run has already finished (${run.status})`);
    },
  },
  Run: {
    async project(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.project.findUniqueOrThrow({ where: { id: run.projectId } });
    },
    async baseModel(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.model.findUniqueOrThrow({ where: { id: run.baseModelId } });
    },
    async steps(run: Run, _: unknown, ctx: ApiContext): Promise<RunStep[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.runStep.findMany({ where: { runId: run.id }, orderBy: { index: 'asc' } });
    },
    async metrics(run: Run, _: unknown, ctx: ApiContext): Promise<MetricRow[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.$queryRaw<MetricRow[]>`
        SELECT DISTINCT ON (name) name, value, step, "runStepId", "createdAt"
        FROM "Metric" WHERE "runId" = ${run.id}::uuid
        ORDER BY name, "createdAt" DESC, id DESC`;
    },
    async metricSeries(run: Run, args: { name: string }, ctx: ApiContext): Promise<MetricRow[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.metric.findMany({
        where: { runId: run.id, name: args.name },
        orderBy: [{ step: 'asc' }, { createdAt: 'asc' }, { id: 'asc' }],
        take: MAX_SERIES_POINTS,
        select: { name: true, value: true, step: true, runStepId: true, createdAt: true },
      });
    },
    async artifacts(run: Run, _: unknown, ctx: ApiContext): Promise<Artifact[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.artifact.findMany({ where: { runId: run.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
    async calibration(run: Run, _: unknown, ctx: ApiContext): Promise<Artifact | null> {
      if (!run.calibrationId) return null;
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.artifact.findUnique({ where: { id: run.calibrationId } });
    },
    async outputModel(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.model.findFirst({ where: { producedByRunId: run.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  },
  MetricValue: {
    label: (m: MetricRow) => describeMetric(m.name)?.label ?? null,
    unit: (m: MetricRow) => describeMetric(m.name)?.unit ?? null,
    lowerIsBetter: (m: MetricRow) => describeMetric(m.name)?.lowerIsBetter ?? null,
    family: (m: MetricRow) => describeMetric(m.name)?.family ?? null,
  },
  RunStep: {
    async outputModel(step: RunStep, _: unknown, ctx: ApiContext) {
      if (!step.outputModelId) return null;
      await authorize(ctx, { modelId: step.outputModelId }, 'read');
      return ctx.prisma.model.findUnique({ where: { id: step.outputModelId } });
    },
  },
  Artifact: {
    bytes: (a: Artifact) => Number(a.bytes),
    async model(a: Artifact, _: unknown, ctx: ApiContext) {
      if (!a.modelId) return null;
      await authorize(ctx, { modelId: a.modelId }, 'read');
      return ctx.prisma.model.findUnique({ where: { id: a.modelId } });
    },
  },
};
