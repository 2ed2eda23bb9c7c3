-- The final figures of succeeded runs, one row per run and metric, with the team, suite
-- and technique families beside them: leaderboards rank and filter on this table instead
-- of finding each run's latest final value among all its metric points.
CREATE TABLE "RunFinalMetric" (
    "runId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "teamId" UUID NOT NULL,
    "suiteId" TEXT,
    "suiteVersion" INTEGER,
    "families" TEXT[],

    CONSTRAINT "RunFinalMetric_pkey" PRIMARY KEY ("runId","name")
);

CREATE INDEX "RunFinalMetric_suiteId_suiteVersion_name_value_runId_idx" ON "RunFinalMetric"("suiteId", "suiteVersion", "name", "value", "runId");
-- A team's board, and a budget range within one team, without walking other teams' runs.
CREATE INDEX "RunFinalMetric_team_rank_idx" ON "RunFinalMetric"("suiteId", "suiteVersion", "name", "teamId", "value", "runId");

ALTER TABLE "RunFinalMetric" ADD CONSTRAINT "RunFinalMetric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Rewrites the rows of the given runs from their metrics: the latest final value (no step,
-- no run step) of each metric name, for runs that succeeded; other runs get no rows. The
-- run lifecycle calls it when a run succeeds; the backfill below calls it once for all.
CREATE FUNCTION refresh_run_final_metrics(run_ids UUID[]) RETURNS INTEGER LANGUAGE SQL AS $$
  -- IN (SELECT unnest(...)) rather than = ANY(...): a semi-join, fast for the backfill's
  -- hundred thousand ids as well as for one.
  DELETE FROM "RunFinalMetric" WHERE "runId" IN (SELECT unnest(run_ids));
  WITH written AS (
    INSERT INTO "RunFinalMetric" ("runId", "name", "value", "teamId", "suiteId", "suiteVersion", "families")
    SELECT f."runId", f.name, f.value, r."teamId", r."suiteId", r."suiteVersion", r.families
    FROM (
      SELECT DISTINCT ON (m."runId", m.name) m."runId", m.name, m.value
      FROM "Metric" m
      WHERE m."runId" IN (SELECT unnest(run_ids)) AND m."runStepId" IS NULL AND m.step IS NULL
      ORDER BY m."runId", m.name, m.id DESC
    ) f
    JOIN (
      -- Per run, not per metric row: suite and families are the same for all its figures.
      SELECT r.id, p."teamId", r.evaluation->'suite'->>'id' AS "suiteId",
        CASE WHEN r.evaluation->'suite'->>'version' ~ '^[0-9]{1,9}$' THEN (r.evaluation->'suite'->>'version')::INTEGER END AS "suiteVersion",
        ARRAY(SELECT DISTINCT split_part(s."techniqueId", '.', 1) FROM "RunStep" s WHERE s."runId" = r.id ORDER BY 1) AS families
      FROM "Run" r JOIN "Project" p ON p.id = r."projectId"
      WHERE r.id IN (SELECT unnest(run_ids)) AND r.status = 'succeeded'
    ) r ON r.id = f."runId"
    RETURNING 1)
  SELECT count(*)::INTEGER FROM written;
$$;

-- Fresh statistics first: the backfill's plan depends on how many runs and points there are.
ANALYZE "Run";
ANALYZE "Metric";
SELECT refresh_run_final_metrics(ARRAY(SELECT id FROM "Run" WHERE status = 'succeeded'));
ANALYZE "RunFinalMetric";
