-- The leaderboard's candidate walks filter on team and technique families: with them as
-- trailing key columns of the ranking indexes (after runId, so the rank order is unchanged),
-- a walk reads the index alone instead of fetching each candidate's heap row (about 10,000
-- rows for a size budget with a family filter). INCLUDE would say the same, but Prisma's
-- schema cannot express it and its schema engine fails to read such an index back.
DROP INDEX "RunFinalMetric_suiteId_suiteVersion_name_value_runId_idx";
CREATE INDEX "RunFinalMetric_rank_idx" ON "RunFinalMetric"("suiteId", "suiteVersion", "name", "value", "runId", "teamId", "families");
DROP INDEX "RunFinalMetric_team_rank_idx";
CREATE INDEX "RunFinalMetric_team_rank_idx" ON "RunFinalMetric"("suiteId", "suiteVersion", "name", "teamId", "value", "runId", "families");
-- A run's figure by name from the index alone (the budget lookups, the page's sizes and
-- latencies), where the primary key would fetch the heap row for the value.
CREATE INDEX "RunFinalMetric_runId_name_value_idx" ON "RunFinalMetric"("runId", "name", "value");
