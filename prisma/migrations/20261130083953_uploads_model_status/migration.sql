-- CreateEnum
CREATE TYPE "ModelStatus" AS ENUM ('importing', 'ready', 'failed');

-- CreateEnum
CREATE TYPE "UploadState" AS ENUM ('pending', 'imported');

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "error" TEXT,
ADD COLUMN     "status" "ModelStatus" NOT NULL DEFAULT 'ready';

-- CreateTable
CREATE TABLE "Upload" (
    "id" UUID NOT NULL,
    "teamId" UUID NOT NULL,
    "userId" UUID,
    "sha256" CHAR(64) NOT NULL,
    "bytes" BIGINT NOT NULL,
    "state" "UploadState" NOT NULL DEFAULT 'pending',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Upload_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Upload_sha256_idx" ON "Upload"("sha256");

-- CreateIndex
CREATE INDEX "Upload_state_createdAt_idx" ON "Upload"("state", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Upload_teamId_sha256_key" ON "Upload"("teamId", "sha256");

-- AddForeignKey
ALTER TABLE "Upload" ADD CONSTRAINT "Upload_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Upload" ADD CONSTRAINT "Upload_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;


