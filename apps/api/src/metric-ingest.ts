/**
 * Metric points from runs made outside Distillery, written by one statement per batch
 * inside the caller's transaction. Each point carries a client-supplied key, unique per
 * run: ON CONFLICT DO NOTHING makes a retried batch, or one that overlaps an earlier one,
 * insert only what is missing. Only the newly stored points are announced as run events,
 * so a retry announces nothing twice.
 *
 * Why one JSON parameter: the batch travels as a single JSON text that Postgres unpacks
 * with json_to_recordset. Text arrays (one per column) cost the driver an escaping pass
 * per element, which was a visible share of a batch's time; JSON.stringify is native.
 * The stored points come back as one json_agg value for the same reason.
 */
import { announceMetricPoints, type MetricPoint, type Prisma, type RunStatus } from '@distillery/db';

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

interface IngestRow {
  status: RunStatus;
  projectId: string;
  /** The newly stored points, in input order; null when none were. */
  stored: MetricPoint[] | null;
}

/** Stores the points a running run does not have yet and announces them; call inside a transaction. */
export async function ingestPoints(tx: Prisma.TransactionClient, runId: string, points: readonly IngestPoint[]): Promise<IngestResult> {
  // The CTE takes the lock the points' foreign key takes anyway (FOR KEY SHARE) before any
  // row is inserted: batches of one run go in side by side, while finishing the run (which
  // locks the row for update) waits for them, and batches after it see it finished and
  // insert nothing. `id` orders the stored points as they were sent (one sequence, one statement).
  const rows = await tx.$queryRaw<IngestRow[]>`
    WITH run AS (SELECT status::text AS status, "projectId" FROM "Run" WHERE id = ${runId}::uuid FOR KEY SHARE),
    stored AS (
      INSERT INTO "Metric" ("runId", key, name, step, value, "createdAt")
      SELECT ${runId}::uuid, p.key, p.name, p.step, p.value, COALESCE(p.at, now())
      FROM json_to_recordset(${JSON.stringify(points)}::json) AS p(key text, name text, step int, value float8, at timestamptz)
      WHERE (SELECT status FROM run) = 'running'
      ON CONFLICT ("runId", key) DO NOTHING
      RETURNING id, name, value, step)
    SELECT run.status, run."projectId"::text AS "projectId",
      (SELECT json_agg(json_build_object('name', name, 'value', value, 'step', step, 'runStepId', NULL) ORDER BY id) FROM stored) AS stored
    FROM run`;
  const row = rows[0];
  if (!row) throw new Error(`run ${runId} does not exist`);
  if (row.status !== 'running') throw new RunNotOpenError(runId, row.status);
  const stored = row.stored ?? [];
  await announceMetricPoints(tx, { id: runId, projectId: row.projectId }, stored);
  return { accepted: stored.length, duplicates: points.length - stored.length };
}
