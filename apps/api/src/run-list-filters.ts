/**
 * The run list's filters (GraphQL `RunFilter`): status, base model, creation time, tags and a
 * step parameter (run-labels.ts), technique family (a step whose technique id starts with
 * "<family>."), sweep, and ranges on the latest value of catalogue metrics (what the runs
 * page shows in its columns). Every query that answers "the runs this filter selects" (the
 * list, the trade-off) builds its conditions here.
 */
import { latestRunLevelValues, Prisma, type PrismaClient, type RunStatus } from '@distillery/db';
import { describeMetric } from '@distillery/eval/metric-catalogue';
import { TECHNIQUE_FAMILIES } from '@distillery/techniques';
import { z } from 'zod';
import { badInput, parseInput } from './errors';
import { labelConditions, type ParamFilter } from './run-labels';

export const MAX_METRIC_RANGES = 8;

export interface MetricRange {
  name: string;
  min?: number | null;
  max?: number | null;
}

export interface ListFilter {
  family?: string | null;
  sweepId?: string | null;
  metrics?: MetricRange[] | null;
}

/** GraphQL's `RunFilter` input. */
export interface RunFilter extends ListFilter {
  status?: RunStatus | null;
  baseModelId?: string | null;
  createdAfter?: Date | null;
  tags?: string[] | null;
  param?: ParamFilter | null;
}

const UuidSchema = z.uuid('not a valid id');
const FamilySchema = z.enum(TECHNIQUE_FAMILIES, { message: `one of ${TECHNIQUE_FAMILIES.join(', ')}` });

function checkRange(range: MetricRange, field: string): { name: string; min: number | null; max: number | null } {
  if (!describeMetric(range.name)) throw badInput(`${field}.name`, `"${range.name}" is not a metric of the catalogue (see the metricCatalogue query)`);
  const min = range.min ?? null;
  const max = range.max ?? null;
  if (min === null && max === null) throw badInput(field, 'give min, max or both');
  if (min !== null && max !== null && min > max) throw badInput(`${field}.min`, `min (${min}) is above max (${max})`);
  return { name: range.name, min, max };
}

/** The conditions these filters add to a project's run query. */
export async function listConditions(prisma: PrismaClient, projectId: string, filter: ListFilter): Promise<Prisma.RunWhereInput[]> {
  const out: Prisma.RunWhereInput[] = [];
  if (filter.family) {
    const family = parseInput(FamilySchema, filter.family, 'filter.family');
    out.push({ steps: { some: { techniqueId: { startsWith: `${family}.` } } } });
  }
  if (filter.sweepId) out.push({ sweepId: parseInput(UuidSchema, filter.sweepId, 'filter.sweepId') });
  const ranges = filter.metrics ?? [];
  if (ranges.length > MAX_METRIC_RANGES) throw badInput('filter.metrics', `at most ${MAX_METRIC_RANGES} ranges`);
  for (const [i, range] of ranges.entries()) {
    const { name, min, max } = checkRange(range, `filter.metrics[${i}]`);
    // The run's own latest value (not a step's report figure of the same name), as the runs list shows it.
    const rows = await prisma.$queryRaw<{ runId: string }[]>`
      SELECT l."runId" FROM (${latestRunLevelValues([name], Prisma.sql`r."projectId" = ${projectId}::uuid`)}) l
      WHERE (${min}::float8 IS NULL OR l.value >= ${min}::float8) AND (${max}::float8 IS NULL OR l.value <= ${max}::float8)`;
    out.push({ id: { in: rows.map((r) => r.runId) } });
  }
  return out;
}

/** Every condition a `RunFilter` adds to a project's run query (none for an empty filter). */
export async function runFilterConditions(prisma: PrismaClient, projectId: string, filter: RunFilter): Promise<Prisma.RunWhereInput[]> {
  const out: Prisma.RunWhereInput[] = [];
  if (filter.status) out.push({ status: filter.status });
  if (filter.baseModelId) out.push({ baseModelId: parseInput(UuidSchema, filter.baseModelId, 'filter.baseModelId') });
  if (filter.createdAfter) out.push({ createdAt: { gt: filter.createdAfter } });
  out.push(...(await labelConditions(prisma, projectId, filter)));
  out.push(...(await listConditions(prisma, projectId, filter)));
  return out;
}
