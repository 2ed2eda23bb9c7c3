-- Idempotency keys of ingested metric points (logMetrics); null for worker-recorded values.
ALTER TABLE "Metric" ADD COLUMN "key" TEXT;

CREATE UNIQUE INDEX "Metric_runId_key_key" ON "Metric"("runId", "key");
