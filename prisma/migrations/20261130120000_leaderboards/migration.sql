-- Teams opt in to public leaderboards.
ALTER TABLE "Team" ADD COLUMN "leaderboardPublic" BOOLEAN NOT NULL DEFAULT false;

-- Leaderboards walk a metric's final values in order and stop after a page.
CREATE INDEX "Metric_final_name_value_idx" ON "Metric"("name", "value") WHERE "runStepId" IS NULL AND "step" IS NULL;
