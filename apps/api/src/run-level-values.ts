/**
 * A run's own figures are its Metric rows without a run step: a step may record a figure
 * under a catalogue metric's name (its report), and that is not the run's value. Every
 * query that reads "a run's latest value of a metric" (the run list's ranges, the
 * trade-off) selects it here, so the two cannot disagree.
 */
import { Prisma } from '@distillery/db';

/**
 * Rows (runId as text, name, value): the latest run-level value of each named metric for
 * each run of the project. `runScope` narrows the runs with more conditions on `r` (the
 * Run), each starting with AND.
 */
export function latestRunLevelValues(projectId: string, names: readonly string[], runScope: Prisma.Sql = Prisma.empty): Prisma.Sql {
  return Prisma.sql`
    SELECT DISTINCT ON (m."runId", m.name) m."runId"::text AS "runId", m.name, m.value
    FROM "Run" r JOIN "Metric" m ON m."runId" = r.id
    WHERE r."projectId" = ${projectId}::uuid AND m.name = ANY(${[...names]}::text[]) AND m."runStepId" IS NULL ${runScope}
    ORDER BY m."runId", m.name, m."createdAt" DESC, m.id DESC`;
}
