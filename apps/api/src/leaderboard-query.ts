/**
 * The leaderboard query. It walks the metric's final values in rank order through the
 * partial index on (name, value, runId) and stops after a page, so it stays fast however
 * many runs exist; suite, scope and budgets are checked per candidate. Budgets work
 * against the ranking (the best perplexities belong to the largest models), so the walk
 * first looks at a bounded prefix of candidates; when that prefix does not fill the page,
 * the query starts from the runs within the budget instead (an index range of the budget
 * metric), and only without a budget walks the whole index. Only the latest final value
 * of a run counts, so a run appears once.
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

/** The latest final value of `name` of the run whose id is the SQL expression `runId`. */
function finalValue(runId: string, name: string): Prisma.Sql {
  return Prisma.sql`(SELECT f.value FROM "Metric" f
    WHERE f."runId" = ${Prisma.raw(runId)} AND f.name = ${name} AND f."runStepId" IS NULL AND f.step IS NULL
    ORDER BY f.id DESC LIMIT 1)`;
}

/** Candidates looked at in rank order before switching to the budget-first query. */
const WALK_PREFIX = 2_000;

/** Where candidates come from: a prefix of the rank-ordered index, the runs within a budget, or the whole index. */
type Source = { kind: 'prefix' } | { kind: 'budget'; name: string; max: number } | { kind: 'all' };

export async function leaderboardRows(prisma: PrismaClient, q: LeaderboardQuery): Promise<LeaderboardRow[]> {
  const rows = await leaderboardFrom(prisma, q, { kind: 'prefix' });
  if (rows.length >= q.first) return rows;
  if (q.maxSizeBytes !== null) return leaderboardFrom(prisma, q, { kind: 'budget', name: SIZE, max: q.maxSizeBytes });
  if (q.maxDecodeMsP50 !== null) return leaderboardFrom(prisma, q, { kind: 'budget', name: DECODE_P50, max: q.maxDecodeMsP50 });
  return leaderboardFrom(prisma, q, { kind: 'all' });
}

function finalRows(metric: string): Prisma.Sql {
  return Prisma.sql`"Metric" WHERE name = ${metric} AND "runStepId" IS NULL AND step IS NULL`;
}

async function leaderboardFrom(prisma: PrismaClient, q: LeaderboardQuery, source: Source): Promise<LeaderboardRow[]> {
  const rank = q.lowerIsBetter ? Prisma.sql`value ASC, "runId" ASC` : Prisma.sql`value DESC, "runId" ASC`;
  const from =
    source.kind === 'prefix'
      ? Prisma.sql`(SELECT * FROM ${finalRows(q.metric)} ORDER BY ${rank} LIMIT ${WALK_PREFIX}) m`
      : source.kind === 'budget'
        ? Prisma.sql`(SELECT mm.* FROM "Metric" mm JOIN (SELECT "runId" FROM ${finalRows(source.name)} AND value <= ${source.max}) b ON b."runId" = mm."runId"
            WHERE mm.name = ${q.metric} AND mm."runStepId" IS NULL AND mm.step IS NULL) m`
        : Prisma.sql`"Metric" m`;
  const conditions: Prisma.Sql[] = [
    Prisma.sql`m.name = ${q.metric}`,
    Prisma.sql`m."runStepId" IS NULL AND m.step IS NULL`,
    Prisma.sql`r.status = 'succeeded'`,
    Prisma.sql`r.evaluation->'suite'->>'id' = ${q.suite}`,
    Prisma.sql`r.evaluation->'suite'->>'version' = ${String(q.suiteVersion)}`,
    q.teamId ? Prisma.sql`p."teamId" = ${q.teamId}::uuid` : Prisma.sql`t."leaderboardPublic"`,
    Prisma.sql`NOT EXISTS (SELECT 1 FROM "Metric" d WHERE d."runId" = m."runId" AND d.name = m.name AND d."runStepId" IS NULL AND d.step IS NULL AND d.id > m.id)`,
  ];
  if (q.maxSizeBytes !== null) conditions.push(Prisma.sql`${finalValue('r.id', SIZE)} <= ${q.maxSizeBytes}`);
  if (q.maxDecodeMsP50 !== null) conditions.push(Prisma.sql`${finalValue('r.id', DECODE_P50)} <= ${q.maxDecodeMsP50}`);
  if (q.techniqueFamily !== null) {
    conditions.push(Prisma.sql`EXISTS (SELECT 1 FROM "RunStep" st WHERE st."runId" = r.id AND st."techniqueId" LIKE ${`${q.techniqueFamily}.%`})`);
  }
  const order = q.lowerIsBetter ? Prisma.sql`m.value ASC, m."runId" ASC` : Prisma.sql`m.value DESC, m."runId" ASC`;
  return prisma.$queryRaw<LeaderboardRow[]>`
    SELECT top."runId"::text AS "runId", top.value, top."teamId", top."teamName", top."projectId", top."projectName",
      ARRAY(SELECT s."techniqueId" FROM "RunStep" s WHERE s."runId" = top."runId" ORDER BY s.index) AS techniques,
      ${finalValue('top."runId"', SIZE)} AS "sizeBytes", ${finalValue('top."runId"', DECODE_P50)} AS "decodeMsP50"
    FROM (
      -- Sizes and latencies shown are looked up for the page only, in the outer query.
      SELECT m."runId", m.value, p."teamId"::text AS "teamId", t.name AS "teamName", p.id::text AS "projectId", p.name AS "projectName"
      FROM ${from}
      JOIN "Run" r ON r.id = m."runId"
      JOIN "Project" p ON p.id = r."projectId"
      JOIN "Team" t ON t.id = p."teamId"
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY ${order}
      LIMIT ${q.first}
    ) top
    ORDER BY ${q.lowerIsBetter ? Prisma.sql`top.value ASC` : Prisma.sql`top.value DESC`}, top."runId" ASC`;
}
