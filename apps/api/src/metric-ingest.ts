/**
 * Metric points from runs made outside Distillery, written in one multi-row INSERT per
 * batch (arrays unnested server-side, so one round trip whatever the batch size). Each
 * point carries a client-supplied key, unique per run: ON CONFLICT DO NOTHING makes a
 * retried batch, or one that overlaps an earlier one, insert only what is missing.
 */
import type { PrismaClient } from '@distillery/db';

export interface IngestPoint {
  key: string;
  name: string;
  step: number | null;
  value: number;
  time: Date | null;
}

export interface IngestResult {
  /** Points newly stored. */
  accepted: number;
  /** Points whose key the run already had (or that repeated a key within the batch). */
  duplicates: number;
}

export async function ingestPoints(prisma: PrismaClient, runId: string, points: readonly IngestPoint[]): Promise<IngestResult> {
  if (!points.length) return { accepted: 0, duplicates: 0 };
  const now = new Date();
  const inserted = await prisma.$executeRaw`
    INSERT INTO "Metric" ("runId", key, name, step, value, "createdAt")
    SELECT ${runId}::uuid, p.key, p.name, p.step, p.value, p.at
    FROM unnest(${points.map((p) => p.key)}::text[], ${points.map((p) => p.name)}::text[], ${points.map((p) => p.step)}::int[],
      ${points.map((p) => p.value)}::float8[], ${points.map((p) => p.time ?? now)}::timestamptz[]) AS p(key, name, step, value, at)
    ON CONFLICT ("runId", key) DO NOTHING`;
  return { accepted: inserted, duplicates: points.length - inserted };
}
