-- Run lists order by (createdAt desc, id desc) within a project: with id in the index the
-- page is read in index order from the cursor, without sorting ties.
DROP INDEX "Run_projectId_createdAt_idx";
CREATE INDEX "Run_projectId_createdAt_id_idx" ON "Run"("projectId", "createdAt" DESC, "id" DESC);
