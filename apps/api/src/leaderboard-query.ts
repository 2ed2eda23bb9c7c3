/**
 * The leaderboard query, over the final-figures table RunFinalMetric (one row per
 * succeeded run and metric, with team, suite version and technique families beside the
 * value; kept by the run lifecycle). It walks the index on (suite, version, metric, value,
 * run) in rank order and stops after a page, so it stays fast however many runs exist.
 * Budgets work against the ranking (the best perplexities belong to the largest models),
 * so the walk first looks at a bounded prefix of candidates; when that prefix does not
 * fill the page, the query starts from the runs within the budget instead (an index range
 * of the budget metric), and only without a budget walks the whole index.
 */
import { Prisma, type PrismaClient } from '@distillery/db';
import { metricName } from '@distillery/eval/metric-catalogue';

export interface LeaderboardQuery {
  metric: string;
  lowerIsBetter: boolean;
  suite: string;
  suiteVersion: number;
  /** A team's own board, or null for the public board of opted-in teams. */
  teamId: string | null;
  maxSizeBytes: number | null;
  maxDecodeMsP50: number | null;
  techniqueFamily: string | null;
  first: number;
}

export interface LeaderboardRow {
  runId: string;
  value: number;
  teamId: string;
  teamName: string;
  projectName: string;
  projectId: string;
  techniques: string[];
  sizeBytes: number | null;
  decodeMsP50: number | null;
}

const SIZE = metricName('sizeBytes', 'model');
const DECODE_P50 = metricName('decodeMsP50', 'model');

/**
 * Candidates looked at in rank order before switching to the budget-first query. Shorter
 * with a budget: each candidate then costs a lookup of its budget figure, and a budget that
 * works against the ranking is better served from the budget's side early.
 */
const WALK_PREFIX = 2_000;
const WALK_PREFIX_WITH_BUDGET = 200;

/** Where candidates come from: a prefix of the rank-ordered index, the runs within a budget, or the whole index. */
type Source = { kind: 'prefix' } | { kind: 'budget'; name: string; max: number } | { kind: 'all' };

export async function leaderboardRows(prisma: PrismaClient, q: LeaderboardQuery): Promise<LeaderboardRow[]> {
  const rows = await leaderboardFrom(prisma, q, { kind: 'prefix' });
  if (rows.length >= q.first) return rows;
  if (q.maxSizeBytes !== null) return leaderboardFrom(prisma, q, { kind: 'budget', name: SIZE, max: q.maxSizeBytes });
  if (q.maxDecodeMsP50 !== null) return leaderboardFrom(prisma, q, { kind: 'budget', name: DECODE_P50, max: q.maxDecodeMsP50 });
  return leaderboardFrom(prisma, q, { kind: 'all' });
}

/** Rows of one metric within the query's suite version. */
function ofMetric(q: LeaderboardQuery, name: string, alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  return Prisma.sql`${a}."suiteId" = ${q.suite} AND ${a}."suiteVersion" = ${q.suiteVersion} AND ${a}.name = ${name}`;
}

/** The run's final value of another metric (an index-only lookup on (runId, name, value)). */
function figureOf(runId: Prisma.Sql, name: string): Prisma.Sql {
  return Prisma.sql`(SELECT o.value FROM "RunFinalMetric" o WHERE o."runId" = ${runId} AND o.name = ${name})`;
}

/**
 * Team and family conditions on a row of any of the run's figures (they are the same on
 * all of them), so the candidate sources below apply them before joining anything.
 */
function runConditions(q: LeaderboardQuery, alias: string): Prisma.Sql {
  const a = Prisma.raw(alias);
  const parts: Prisma.Sql[] = [];
  if (q.teamId) parts.push(Prisma.sql`${a}."teamId" = ${q.teamId}::uuid`);
  if (q.techniqueFamily !== null) parts.push(Prisma.sql`${q.techniqueFamily} = ANY(${a}.families)`);
  return parts.length ? Prisma.sql` AND ${Prisma.join(parts, ' AND ')}` : Prisma.empty;
}

async function leaderboardFrom(prisma: PrismaClient, q: LeaderboardQuery, source: Source): Promise<LeaderboardRow[]> {
  const rank = q.lowerIsBetter ? Prisma.sql`value ASC, "runId" ASC` : Prisma.sql`value DESC, "runId" ASC`;
  const from =
    source.kind === 'prefix'
      ? Prisma.sql`(SELECT * FROM "RunFinalMetric" c WHERE ${ofMetric(q, q.metric, 'c')}${runConditions(q, 'c')} ORDER BY ${rank} LIMIT ${q.maxSizeBytes === null && q.maxDecodeMsP50 === null ? WALK_PREFIX : WALK_PREFIX_WITH_BUDGET}) f`
      : source.kind === 'budget'
        ? // LATERAL with LIMIT 1 keeps this an index lookup per run within the budget: as a
          // plain join the planner overestimates the budget rows and hashes the whole metric.
          // Only the value is looked up (team and families are the budget row's), so both the
          // budget range and the lookups read indexes alone.
          Prisma.sql`(SELECT b."runId", c.value, b."teamId" FROM "RunFinalMetric" b
            CROSS JOIN LATERAL (SELECT o.value FROM "RunFinalMetric" o WHERE o."runId" = b."runId" AND o.name = ${q.metric} LIMIT 1) c
            WHERE ${ofMetric(q, source.name, 'b')} AND b.value <= ${source.max}${runConditions(q, 'b')}) f`
        : Prisma.sql`(SELECT * FROM "RunFinalMetric" c WHERE ${ofMetric(q, q.metric, 'c')}${runConditions(q, 'c')}) f`;
  const conditions: Prisma.Sql[] = q.teamId ? [] : [Prisma.sql`t."leaderboardPublic"`];
  // The budget a source already applied is not looked up again for every candidate.
  const applied = source.kind === 'budget' ? source.name : null;
  if (q.maxSizeBytes !== null && applied !== SIZE) conditions.push(Prisma.sql`${figureOf(Prisma.sql`f."runId"`, SIZE)} <= ${q.maxSizeBytes}`);
  if (q.maxDecodeMsP50 !== null && applied !== DECODE_P50) conditions.push(Prisma.sql`${figureOf(Prisma.sql`f."runId"`, DECODE_P50)} <= ${q.maxDecodeMsP50}`);
  const order = q.lowerIsBetter ? Prisma.sql`f.value ASC, f."runId" ASC` : Prisma.sql`f.value DESC, f."runId" ASC`;
  return prisma.$queryRaw<LeaderboardRow[]>`
    SELECT top."runId"::text AS "runId", top.value, top."teamId"::text AS "teamId", top."teamName", p.id::text AS "projectId", p.name AS "projectName",
      ARRAY(SELECT s."techniqueId" FROM "RunStep" s WHERE s."runId" = top."runId" ORDER BY s.index) AS techniques,
      ${figureOf(Prisma.sql`top."runId"`, SIZE)} AS "sizeBytes", ${figureOf(Prisma.sql`top."runId"`, DECODE_P50)} AS "decodeMsP50"
    FROM (
      -- Projects, techniques, sizes and latencies shown are looked up for the page only.
      SELECT f."runId", f.value, f."teamId", t.name AS "teamName"
      FROM ${from}
      JOIN "Team" t ON t.id = f."teamId"
      WHERE ${conditions.length ? Prisma.join(conditions, ' AND ') : Prisma.sql`TRUE`}
      ORDER BY ${order}
      LIMIT ${q.first}
    ) top
    JOIN "Run" r ON r.id = top."runId"
    JOIN "Project" p ON p.id = r."projectId"
    ORDER BY ${q.lowerIsBetter ? Prisma.sql`top.value ASC` : Prisma.sql`top.value DESC`}, top."runId" ASC`;
}
