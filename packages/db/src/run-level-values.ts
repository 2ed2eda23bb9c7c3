/**
 * A run's own figures are its Metric rows without a run step: a step may record a figure
 * under a catalogue metric's name (its report), and that is not the run's value. Every
 * query that reads "a run's latest value of a metric" (the run list's ranges, the
 * trade-off, a pareto sweep's objective) selects it here, so they cannot disagree.
 */
import { Prisma } from './generated/client.ts';

/**
 * Rows (runId as text, name, value): the latest run-level value of each named metric for
 * each run `runScope` admits, a condition on `r` (the Run), e.g. its project.
 */
export function latestRunLevelValues(names: readonly string[], runScope: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    SELECT DISTINCT ON (m."runId", m.name) m."runId"::text AS "runId", m.name, m.value
    FROM "Run" r JOIN "Metric" m ON m."runId" = r.id
    WHERE (${runScope}) AND m.name = ANY(${[...names]}::text[]) AND m."runStepId" IS NULL
    ORDER BY m."runId", m.name, m."createdAt" DESC, m.id DESC`;
}
