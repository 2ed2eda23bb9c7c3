import type { Artifact, Prisma, Run, RunStep } from '@distillery/db';
import { catalogueNames, describeMetric } from '@distillery/eval/metric-catalogue';
import { registry, seedRecipe } from '@distillery/techniques';
import { z } from 'zod';
import { auditedTransaction } from '../audit-log';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import type { MetricRow } from '../loaders';
import { OMIT_RUN_DOCUMENTS, runDocument, type RunParent } from '../run-documents';
import { decodeCursor, encodeCursor } from '../cursor';
import { badInput, conflict, forbidden, parseInput } from '../errors';
import { parseTags } from '../run-labels';
import { runFilterConditions, type RunFilter } from '../run-list-filters';
import { cancelRun, createQueuedRun } from '@distillery/experiments';
import { checkRunRequest, recipeSource } from '../run-request';
import type { ResolverMap } from './resolver-types';

const MAX_PAGE = 100;
const MAX_SERIES_POINTS = 10_000;


const SeedSchema = z.number().int().min(0).max(2 ** 31 - 1);

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
      const and: Prisma.RunWhereInput[] = [{ projectId: args.projectId }, ...(await runFilterConditions(ctx.prisma, args.projectId, filter))];
      if (args.after) {
        const key = decodeCursor(args.after);
        if (!key) throw badInput('after', 'not a cursor returned by this API');
        // The redundant upper bound lets the (projectId, createdAt, id) index start at the cursor.
        and.push({ createdAt: { lte: key.createdAt } });
        and.push({ OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }] });
      }
      const rows = await ctx.prisma.run.findMany({
        where: { AND: and },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: first + 1,
        omit: OMIT_RUN_DOCUMENTS,
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
    async createRun(_: unknown, args: { projectId: string; baseModelId: string; recipe?: unknown; recipeId?: string | null; seed?: number | null; tags?: string[] | null }, ctx: ApiContext) {
      const { teamId, viewer } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const seed = parseInput(SeedSchema, args.seed ?? 0, 'seed');
      const tags = parseTags(args.tags ?? [], 'tags');
      const source = await recipeSource(ctx, teamId, args);
      const { baseModelId, recipe } = await checkRunRequest(ctx, { projectId: args.projectId, teamId, baseModelId: args.baseModelId, recipe: seedRecipe(source.recipe, seed, registry), field: source.field });
      const run = await auditedTransaction(ctx, (tx) =>
        createQueuedRun(tx, { projectId: args.projectId, baseModelId, recipe, seed, createdById: viewer.userId, recipeId: source.recipeId, tags }),
      );
      ctx.log.info({ runId: run.id, projectId: args.projectId, steps: recipe.steps.length }, 'run queued');
      return run;
    },
    async cancelRun(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Run> {
      await authorize(ctx, { runId: args.id }, 'write');
      return auditedTransaction(ctx, async (tx) => {
        const run = await cancelRun(tx, args.id);
        if (!run) throw forbidden();
        if (run.status === 'canceled' || run.status === 'running') return run;
        throw conflict(`the run has already finished (${run.status})`);
      });
    },
  },
  Run: {
    recipe: (run: RunParent, _: unknown, ctx: ApiContext) => runDocument(run, 'recipe', ctx),
    evaluation: (run: RunParent, _: unknown, ctx: ApiContext) => runDocument(run, 'evaluation', ctx),
    async project(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.loaders.project.load(run.projectId);
    },
    async baseModel(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.loaders.model.load(run.baseModelId);
    },
    async steps(run: Run, _: unknown, ctx: ApiContext): Promise<RunStep[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.loaders.stepsOfRun.load(run.id);
    },
    async metrics(run: Run, _: unknown, ctx: ApiContext): Promise<MetricRow[]> {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.loaders.latestMetricsOfRun.load(run.id);
    },
    async metricSeries(run: Run, args: { name: string }, ctx: ApiContext): Promise<Omit<MetricRow, 'runId'>[]> {
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
      return ctx.loaders.artifactsOfRun.load(run.id);
    },
    async calibration(run: Run, _: unknown, ctx: ApiContext): Promise<Artifact | null> {
      if (!run.calibrationId) return null;
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.artifact.findUnique({ where: { id: run.calibrationId } });
    },
    async outputModel(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.loaders.outputModelOfRun.load(run.id);
    },
  },
  MetricValue: {
    label: (m: Pick<MetricRow, 'name'>) => describeMetric(m.name)?.label ?? null,
    unit: (m: Pick<MetricRow, 'name'>) => describeMetric(m.name)?.unit ?? null,
    lowerIsBetter: (m: Pick<MetricRow, 'name'>) => describeMetric(m.name)?.lowerIsBetter ?? null,
    family: (m: Pick<MetricRow, 'name'>) => describeMetric(m.name)?.family ?? null,
  },
  RunStep: {
    async outputModel(step: RunStep, _: unknown, ctx: ApiContext) {
      if (!step.outputModelId) return null;
      await authorize(ctx, { modelId: step.outputModelId }, 'read');
      return ctx.loaders.model.load(step.outputModelId);
    },
  },
  Artifact: {
    bytes: (a: Artifact) => Number(a.bytes),
    async model(a: Artifact, _: unknown, ctx: ApiContext) {
      if (!a.modelId) return null;
      await authorize(ctx, { modelId: a.modelId }, 'read');
      return ctx.loaders.model.load(a.modelId);
    },
  },
};
