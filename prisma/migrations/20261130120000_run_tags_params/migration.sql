-- Run tags (free labels) and step parameters, both filterable through GIN indexes.

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "Run_tags_idx" ON "Run" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "RunStep_params_idx" ON "RunStep" USING GIN ("params" jsonb_path_ops);
