-- Tokenizers and calibration sets become artifact rows referenced by foreign keys:
-- Model.tokenizerId replaces Model.config.tokenizerSha256, Run.calibrationId names the
-- run's calibration artifact. Artifacts belong to a team; a tokenizer has no run.

-- AlterTable: teamId filled from each artifact's run before it becomes required.
ALTER TABLE "Artifact" ADD COLUMN     "teamId" UUID,
ALTER COLUMN "runId" DROP NOT NULL;

UPDATE "Artifact" a SET "teamId" = p."teamId"
FROM "Run" r JOIN "Project" p ON p.id = r."projectId"
WHERE r.id = a."runId";

ALTER TABLE "Artifact" ALTER COLUMN "teamId" SET NOT NULL;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "tokenizerId" UUID;

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "calibrationId" UUID;

-- One tokenizer artifact per team and tokenizer hash named in a model's config; its size
-- from the team's upload of it (or any stored row of the same bytes).
INSERT INTO "Artifact" (id, "teamId", "runId", kind, sha256, bytes, "storagePath", "createdAt")
SELECT gen_random_uuid(), t."teamId", NULL, 'tokenizer', t.sha256,
       coalesce(
         (SELECT u.bytes FROM "Upload" u WHERE u.sha256 = t.sha256 ORDER BY u."createdAt" LIMIT 1),
         (SELECT a.bytes FROM "Artifact" a WHERE a.sha256 = t.sha256 LIMIT 1),
         0),
       coalesce((SELECT a."storagePath" FROM "Artifact" a WHERE a.sha256 = t.sha256 LIMIT 1), 'sha256:' || t.sha256),
       t."createdAt"
FROM (
  SELECT "teamId", config->>'tokenizerSha256' AS sha256, min("createdAt") AS "createdAt"
  FROM "Model"
  WHERE config->>'tokenizerSha256' IS NOT NULL
  GROUP BY "teamId", config->>'tokenizerSha256'
) t;

UPDATE "Model" m SET "tokenizerId" = a.id
FROM "Artifact" a
WHERE a.kind = 'tokenizer' AND a."runId" IS NULL AND a."teamId" = m."teamId" AND a.sha256 = m.config->>'tokenizerSha256';

-- The hash now lives only in the referenced row; a config left empty becomes NULL.
UPDATE "Model" SET config = nullif(config - 'tokenizerSha256', '{}'::jsonb)
WHERE config ? 'tokenizerSha256';

UPDATE "Run" r SET "calibrationId" = (
  SELECT a.id FROM "Artifact" a WHERE a."runId" = r.id AND a.kind = 'calibration' ORDER BY a."createdAt" LIMIT 1);

-- CreateIndex
CREATE INDEX "Artifact_teamId_kind_sha256_idx" ON "Artifact"("teamId", "kind", "sha256");

-- CreateIndex
CREATE INDEX "Model_tokenizerId_idx" ON "Model"("tokenizerId");

-- CreateIndex
CREATE INDEX "Run_calibrationId_idx" ON "Run"("calibrationId");

-- AddForeignKey
ALTER TABLE "Model" ADD CONSTRAINT "Model_tokenizerId_fkey" FOREIGN KEY ("tokenizerId") REFERENCES "Artifact"("id") ON DELETE NO ACTION ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_calibrationId_fkey" FOREIGN KEY ("calibrationId") REFERENCES "Artifact"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Artifact" ADD CONSTRAINT "Artifact_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;
