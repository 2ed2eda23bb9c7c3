-- A run's provenance (input hashes, code and ORT versions, thread layout) and the run a
-- re-run reproduces.

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "provenance" JSONB,
ADD COLUMN     "reproductionOfId" UUID;

-- CreateIndex
CREATE INDEX "Run_reproductionOfId_idx" ON "Run"("reproductionOfId");

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_reproductionOfId_fkey" FOREIGN KEY ("reproductionOfId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
