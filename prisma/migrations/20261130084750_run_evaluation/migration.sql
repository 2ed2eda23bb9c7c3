-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "evaluation" JSONB;


