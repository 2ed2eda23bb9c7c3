/**
 * The leaderboard query. It walks the metric's final values in rank order through the
 * partial index on (name, value) and stops after a page, so it stays fast however many
 * runs exist; suite, scope and budgets are checked per candidate. Only the latest final
 * value of a run counts, so a run appears once.
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

export async function leaderboardRows(prisma: PrismaClient, q: LeaderboardQuery): Promise<LeaderboardRow[]> {
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
      FROM "Metric" m
      JOIN "Run" r ON r.id = m."runId"
      JOIN "Project" p ON p.id = r."projectId"
      JOIN "Team" t ON t.id = p."teamId"
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY ${order}
      LIMIT ${q.first}
    ) top
    ORDER BY ${q.lowerIsBetter ? Prisma.sql`top.value ASC` : Prisma.sql`top.value DESC`}, top."runId" ASC`;
}
