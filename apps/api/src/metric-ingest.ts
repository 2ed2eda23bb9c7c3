/**
 * Metric points from runs made outside Distillery, written in one multi-row INSERT per
 * batch (arrays unnested server-side, so one round trip whatever the batch size). Each
 * point carries a client-supplied key, unique per run: ON CONFLICT DO NOTHING makes a
 * retried batch, or one that overlaps an earlier one, insert only what is missing. Only
 * the newly stored points are announced as run events, so a retry announces nothing twice.
 */
import { announceMetricPoints, type PrismaClient, type RunStatus } from '@distillery/db';

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

/** The run is no longer running (finished through finishExternalRun, or never started). */
export class RunNotOpenError extends Error {
  override name = 'RunNotOpenError';
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
  ) {
    super(`run ${runId} is ${status}: only a running run takes metric points`);
  }
}

export async function ingestPoints(prisma: PrismaClient, runId: string, points: readonly IngestPoint[]): Promise<IngestResult> {
  return prisma.$transaction(async (tx) => {
    // The lock the points' foreign key takes anyway (FOR KEY SHARE): batches of one run go
    // in side by side, while finishing the run (which locks the row for update) waits for
    // them, and batches after it see it finished.
    const rows = await tx.$queryRaw<{ status: RunStatus; projectId: string }[]>`
      SELECT status::text AS status, "projectId" FROM "Run" WHERE id = ${runId}::uuid FOR KEY SHARE`;
    const run = rows[0];
    if (!run) throw new Error(`run ${runId} does not exist`);
    if (run.status !== 'running') throw new RunNotOpenError(runId, run.status);
    if (!points.length) return { accepted: 0, duplicates: 0 };
    const inserted = await tx.$queryRaw<{ name: string; value: number; step: number | null }[]>`
      INSERT INTO "Metric" ("runId", key, name, step, value, "createdAt")
      SELECT ${runId}::uuid, p.key, p.name, p.step, p.value, COALESCE(p.at, now())
      FROM unnest(${points.map((p) => p.key)}::text[], ${points.map((p) => p.name)}::text[], ${points.map((p) => p.step)}::int[],
        ${points.map((p) => p.value)}::float8[], ${points.map((p) => p.time)}::timestamptz[]) AS p(key, name, step, value, at)
      ON CONFLICT ("runId", key) DO NOTHING
      RETURNING name, value, step`;
    await announceMetricPoints(tx, { id: runId, projectId: run.projectId }, inserted.map((p) => ({ name: p.name, value: p.value, step: p.step, runStepId: null })));
    return { accepted: inserted.length, duplicates: points.length - inserted.length };
  });
}
