-- The index also orders ties by run, so a leaderboard page is read straight from it.
DROP INDEX "Metric_final_name_value_idx";
CREATE INDEX "Metric_final_name_value_idx" ON "Metric"("name", "value", "runId") WHERE "runStepId" IS NULL AND "step" IS NULL;

-- Without statistics on the suite fields, the planner guesses that almost no run matches a
-- suite and drives leaderboards from the runs table (seconds at 100,000 runs) instead of
-- walking the metric index (milliseconds).
CREATE STATISTICS "Run_suite_stats" ON ((evaluation->'suite'->>'id')), ((evaluation->'suite'->>'version')) FROM "Run";
ANALYZE "Run";
