-- CreateEnum
CREATE TYPE "SweepMode" AS ENUM ('grid', 'random', 'pareto');

-- CreateEnum
CREATE TYPE "SweepStatus" AS ENUM ('active', 'done', 'canceled');

-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "recipeId" UUID,
ADD COLUMN     "sweepId" UUID;

-- CreateTable
CREATE TABLE "Recipe" (
    "id" UUID NOT NULL,
    "teamId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "recipe" JSONB NOT NULL,
    "description" TEXT,
    "createdById" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Recipe_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Sweep" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "baseModelId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "mode" "SweepMode" NOT NULL,
    "recipe" JSONB NOT NULL,
    "space" JSONB NOT NULL,
    "maxRuns" INTEGER NOT NULL,
    "parallelism" INTEGER NOT NULL,
    "objective" JSONB,
    "seed" INTEGER NOT NULL,
    "status" "SweepStatus" NOT NULL DEFAULT 'active',
    "note" TEXT,
    "createdById" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Sweep_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Recipe_teamId_name_version_key" ON "Recipe"("teamId", "name", "version");

-- CreateIndex
CREATE INDEX "Sweep_projectId_createdAt_idx" ON "Sweep"("projectId", "createdAt");

-- CreateIndex
CREATE INDEX "Sweep_status_idx" ON "Sweep"("status");

-- CreateIndex
CREATE INDEX "Run_recipeId_idx" ON "Run"("recipeId");

-- CreateIndex
CREATE INDEX "Run_sweepId_idx" ON "Run"("sweepId");

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_recipeId_fkey" FOREIGN KEY ("recipeId") REFERENCES "Recipe"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_sweepId_fkey" FOREIGN KEY ("sweepId") REFERENCES "Sweep"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Recipe" ADD CONSTRAINT "Recipe_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Sweep" ADD CONSTRAINT "Sweep_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Sweep" ADD CONSTRAINT "Sweep_baseModelId_fkey" FOREIGN KEY ("baseModelId") REFERENCES "Model"("id") ON DELETE NO ACTION ON UPDATE CASCADE;


