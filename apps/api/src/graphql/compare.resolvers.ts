import { latestRunLevelValues, Prisma } from '@distillery/db';
import { describeMetric } from '@distillery/eval/metric-catalogue';
import { dominatorCount, dominatorsOf, metricDirection, paretoFrontier, ParetoInputError, type DominatedPoint, type Direction, type ParetoResult } from '@distillery/eval/pareto';
import { authorize, authorizeRuns } from '../authorization';
import { metricTable } from '@distillery/eval/metric-table';
import { recipeDiff, type Json } from '../compare/recipe-diff';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput } from '../errors';
import { z } from 'zod';
import { latestMetrics } from '../loaders';
import { runDocument, type RunParent } from '../run-documents';
import { runFilterConditions, type RunFilter } from '../run-list-filters';
import type { ResolverMap } from './resolver-types';

const UuidSchema = z.uuid('not a valid id');
const MIN_COMPARED = 2;
const MAX_COMPARED = 200;
const MAX_SERIES_NAMES = 10;
const MAX_SERIES_POINTS = 5_000;

interface Comparison {
  runs: RunParent[];
  baseline: RunParent | null;
}

function valuesOf(rows: { runId: string; name: string; value: number }[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let m = out.get(r.runId);
    if (!m) out.set(r.runId, (m = new Map()));
    m.set(r.name, r.value);
  }
  return out;
}

/**
 * A plotted run before its fields resolve: what a chart draws of it (base model id, recipe) is
 * read for every point of the answer in one query and served as plain properties (no resolver
 * call per point); the run itself is read only when `run` is asked for.
 */
interface PointParent {
  runId: string;
  baseModelId: string;
  recipe: Prisma.JsonValue;
  x: number;
  y: number;
}

/** A dominated run before its fields resolve: its dominators stay a range of the frontier until asked for. */
interface DominatedParent extends PointParent {
  front: ParetoResult;
  point: DominatedPoint;
}

const pointRun = async (p: PointParent, _: unknown, ctx: ApiContext) => (await ctx.loaders.run.load(p.runId))!;

interface SeriesRow {
  runId: string;
  name: string;
  step: number | null;
  value: number;
  createdAt: Date;
  n: number;
  total: number;
}

function axis(name: string, direction: Direction) {
  const d = describeMetric(name);
  return { name, label: d?.label ?? null, unit: d?.unit ?? null, lowerIsBetter: direction === 'min' };
}

function direction(name: string, lowerIsBetter: boolean | null | undefined, field: string): Direction {
  try {
    return metricDirection(name, lowerIsBetter === null || lowerIsBetter === undefined ? null : lowerIsBetter ? 'min' : 'max');
  } catch (e) {
    if (e instanceof ParetoInputError) throw badInput(field, `${e.message} (pass ${field}LowerIsBetter)`);
    throw e;
  }
}

/** The ids of the project's (or sweep's) runs the run list's filter selects; null for no filter (every run). */
async function filteredRunIds(ctx: ApiContext, projectId: string, sweepId: string | null, filter: RunFilter): Promise<string[] | null> {
  const conditions = await runFilterConditions(ctx.prisma, projectId, filter);
  if (conditions.length === 0) return null;
  const scope: Prisma.RunWhereInput[] = [{ projectId }, ...(sweepId ? [{ sweepId }] : []), ...conditions];
  return (await ctx.prisma.run.findMany({ where: { AND: scope }, select: { id: true } })).map((r) => r.id);
}

export const compareResolvers: ResolverMap = {
  Query: {
    async compareRuns(_: unknown, args: { ids: string[]; baseline?: string | null }, ctx: ApiContext): Promise<Comparison> {
      await ctx.viewer();
      const ids = [...new Set(args.ids)];
      if (ids.length < MIN_COMPARED || ids.length > MAX_COMPARED) throw badInput('ids', `compare between ${MIN_COMPARED} and ${MAX_COMPARED} distinct runs (got ${ids.length})`);
      const runs = await authorizeRuns(ctx, ids, 'read');
      const baseline = args.baseline ? (await authorizeRuns(ctx, [args.baseline], 'read'))[0]! : null;
      return { runs, baseline };
    },
    async pareto(
      _: unknown,
      args: {
        projectId?: string | null;
        sweepId?: string | null;
        x: string;
        y: string;
        suiteVersion?: number | null;
        xLowerIsBetter?: boolean | null;
        yLowerIsBetter?: boolean | null;
        runIds?: string[] | null;
        filter?: RunFilter | null;
      },
      ctx: ApiContext,
    ) {
      await ctx.viewer();
      if (Boolean(args.projectId) === Boolean(args.sweepId)) throw badInput('projectId', 'give exactly one of projectId and sweepId');
      let projectId = args.projectId ?? null;
      const sweepId = args.sweepId ?? null;
      if (sweepId !== null) {
        const sweep = await ctx.prisma.sweep.findUnique({ where: { id: parseInput(UuidSchema, sweepId, 'sweepId') }, select: { projectId: true } });
        if (!sweep) throw forbidden();
        projectId = sweep.projectId;
      }
      await authorize(ctx, { projectId: projectId! }, 'read');
      if (args.x === args.y) throw badInput('y', 'pick two different metrics');
      const dx = direction(args.x, args.xLowerIsBetter, 'x');
      const dy = direction(args.y, args.yLowerIsBetter, 'y');
      const version = args.suiteVersion ?? null;
      const runIds = args.runIds ? [...new Set(args.runIds)] : null;
      if (runIds && runIds.length > MAX_COMPARED) throw badInput('runIds', `at most ${MAX_COMPARED} runs`);
      if (runIds) runIds.forEach((id, i) => parseInput(UuidSchema, id, `runIds[${i}]`));
      const filtered = await filteredRunIds(ctx, projectId!, sweepId, args.filter ?? {});
      // The same run-level values the run list shows and filters on.
      const rows = await ctx.prisma.$queryRaw<{ runId: string; name: string; value: number }[]>(
        latestRunLevelValues(
          [args.x, args.y],
          Prisma.sql`r."projectId" = ${projectId}::uuid AND (${sweepId}::uuid IS NULL OR r."sweepId" = ${sweepId}::uuid)
            AND (${version}::int IS NULL OR r.evaluation->'suite'->>'version' = ${version}::int::text)
            AND (${runIds}::uuid[] IS NULL OR r.id = ANY(${runIds}::uuid[]))
            AND (${filtered}::uuid[] IS NULL OR r.id = ANY(${filtered}::uuid[]))`,
        ),
      );
      const byRun = valuesOf(rows);
      const points: { id: string; x: number; y: number }[] = [];
      let missing = 0;
      for (const [id, v] of byRun) {
        const x = v.get(args.x);
        const y = v.get(args.y);
        if (x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) missing++;
        else points.push({ id, x, y });
      }
      const front = paretoFrontier(points, dx, dy);
      const runRows = await ctx.prisma.$queryRaw<{ id: string; baseModelId: string; recipe: Prisma.JsonValue }[]>`
        SELECT id::text AS id, "baseModelId"::text AS "baseModelId", recipe FROM "Run" WHERE id = ANY(${points.map((p) => p.id)}::uuid[])`;
      const runsById = new Map(runRows.map((r) => [r.id, r]));
      const at = new Map(points.map((p) => [p.id, p]));
      const pointOf = (id: string): PointParent => {
        const r = runsById.get(id);
        if (!r) throw new Error(`run ${id} of the trade-off has no row`);
        return { runId: id, baseModelId: r.baseModelId, recipe: r.recipe, x: at.get(id)!.x, y: at.get(id)!.y };
      };
      return {
        x: axis(args.x, dx),
        y: axis(args.y, dy),
        frontier: front.frontier.map(pointOf),
        dominated: front.dominated.map((d): DominatedParent => ({ ...pointOf(d.id), front, point: d })),
        missing,
      };
    },
  },
  ParetoPoint: { run: pointRun },
  DominatedRun: {
    run: pointRun,
    dominatedBy: (d: DominatedParent) => dominatorsOf(d.front, d.point),
    dominatedByCount: (d: DominatedParent) => dominatorCount(d.point),
  },
  RunComparison: {
    async metrics(c: Comparison, _: unknown, ctx: ApiContext) {
      const ids = c.runs.map((r) => r.id);
      if (c.baseline && !ids.includes(c.baseline.id)) ids.push(c.baseline.id);
      const values = valuesOf(await latestMetrics(ctx.prisma, ids));
      const baseline = c.baseline ? (values.get(c.baseline.id) ?? new Map<string, number>()) : null;
      return metricTable(c.runs.map((r) => ({ id: r.id, values: values.get(r.id) ?? new Map() })), baseline);
    },
    async recipeDiff(c: Comparison, _: unknown, ctx: ApiContext) {
      return recipeDiff((await Promise.all(c.runs.map((r) => runDocument(r, 'recipe', ctx)))) as Json[]);
    },
    async series(c: Comparison, args: { names: string[]; maxPoints?: number | null }, ctx: ApiContext) {
      const names = [...new Set(args.names)];
      if (!names.length || names.length > MAX_SERIES_NAMES) throw badInput('names', `name 1 to ${MAX_SERIES_NAMES} metrics`);
      const maxPoints = args.maxPoints ?? 500;
      if (!Number.isInteger(maxPoints) || maxPoints < 2 || maxPoints > MAX_SERIES_POINTS) throw badInput('maxPoints', `must be between 2 and ${MAX_SERIES_POINTS}`);
      // Thinned in SQL: keep every k-th point (and the last) of long series.
      const rows = await ctx.prisma.$queryRaw<SeriesRow[]>`
        SELECT "runId", name, step, value, "createdAt", n::int AS n, total::int AS total FROM (
          SELECT "runId"::text AS "runId", name, step, value, "createdAt",
            row_number() OVER w - 1 AS n, count(*) OVER (PARTITION BY "runId", name) AS total
          FROM "Metric" WHERE "runId" = ANY(${c.runs.map((r) => r.id)}::uuid[]) AND name = ANY(${names}::text[])
          WINDOW w AS (PARTITION BY "runId", name ORDER BY step NULLS FIRST, "createdAt", id)
        ) s
        WHERE total <= ${maxPoints} OR n % ceil(total::float8 / ${maxPoints})::int = 0 OR n = total - 1
        ORDER BY "runId", name, n`;
      const out = new Map<string, { runId: string; name: string; points: { step: number | null; value: number; createdAt: Date }[] }>();
      for (const r of c.runs) for (const name of names) out.set(`${r.id}\u0000${name}`, { runId: r.id, name, points: [] });
      for (const row of rows) out.get(`${row.runId}\u0000${row.name}`)?.points.push({ step: row.step, value: row.value, createdAt: row.createdAt });
      return [...out.values()];
    },
  },
};
