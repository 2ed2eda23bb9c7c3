/**
 * The only writer of Run.status and RunStep.status. Each change is checked against the
 * transition table (run-transitions.ts), made conditionally on what the caller expects
 * (the status it saw, the worker that owns the run), and announced as a run event in the
 * same transaction (run-events.ts). Progress, metric points and produced models are
 * announced here too, so subscribers see one ordered stream per run.
 */
import type { Prisma, PrismaClient, Run, RunStatus, RunStep } from '../generated/client.ts';
import { clipMessage, emitRunEvent, type MetricPoint } from './run-events.ts';
import { assertRunTransition, assertStepTransition, IllegalTransitionError } from './run-transitions.ts';

type Tx = Prisma.TransactionClient;
type Db = PrismaClient | Prisma.TransactionClient;

export interface RunRef {
  id: string;
  projectId: string;
}

export interface NewRun {
  data: Omit<Prisma.RunUncheckedCreateInput, 'status' | 'steps' | 'metrics' | 'artifacts' | 'outputModels'>;
  steps: { techniqueId: string; params: Prisma.InputJsonValue }[];
}

/** A new queued run with its queued steps. */
export async function createRun(tx: Tx, run: NewRun): Promise<Run> {
  const created = await tx.run.create({
    data: { ...run.data, status: 'queued', steps: { create: run.steps.map((s, index) => ({ index, techniqueId: s.techniqueId, params: s.params })) } },
  });
  await emitRunEvent(tx, { kind: 'status', runId: created.id, projectId: created.projectId, from: null, to: 'queued', message: null });
  return created;
}

/** What the caller saw when it decided on a change; the change happens only if it still holds. */
export interface RunExpectation {
  status: readonly RunStatus[];
  /** The worker that must own the run (Run.workerId). */
  workerId?: string;
}

export type RunChange = Omit<Prisma.RunUncheckedUpdateInput, 'status' | 'id'>;

/**
 * Moves a run to `to` when it is in one of the expected states (and owned by the expected
 * worker); returns null, changing nothing, when it is not. The row is locked first, so a
 * concurrent change either happened before (and the expectation fails) or waits.
 * Throws IllegalTransitionError when the expected state cannot lead to `to`.
 */
export async function transitionRun(tx: Tx, runId: string, to: RunStatus, expect: RunExpectation, change: RunChange = {}): Promise<Run | null> {
  const row = await lockRun(tx, runId, expect);
  if (row === null) return null;
  assertRunTransition(runId, row.status, to);
  const run = await tx.run.update({ where: { id: runId }, data: { ...change, status: to } });
  // A run's final figures are complete when it succeeds (and never change after).
  if (to === 'succeeded') await refreshFinalMetrics(tx, [runId]);
  await emitRunEvent(tx, { kind: 'status', runId, projectId: run.projectId, from: row.status, to, message: clipMessage(run.progressMessage) });
  return run;
}

/**
 * Rewrites the RunFinalMetric rows of these runs from their metrics (SQL function
 * refresh_run_final_metrics, migration 20261130124000_run_final_metrics); runs that did
 * not succeed get none. Returns the rows written.
 */
export async function refreshFinalMetrics(db: Db, runIds: readonly string[]): Promise<number> {
  const rows = await db.$queryRaw<{ written: number }[]>`SELECT refresh_run_final_metrics(${[...runIds]}::uuid[]) AS written`;
  return rows[0]?.written ?? 0;
}

export interface LockedRun extends RunRef {
  status: RunStatus;
}

/**
 * Locks the run's row for the rest of the transaction when the expectation holds (null
 * otherwise), so a caller can settle steps first and move the run last: subscribers then
 * see a run's final status after everything it finished with.
 */
export async function lockRun(tx: Tx, runId: string, expect: RunExpectation): Promise<LockedRun | null> {
  const rows = await tx.$queryRaw<{ status: RunStatus; workerId: string | null; projectId: string }[]>`
    SELECT status::text AS status, "workerId", "projectId" FROM "Run" WHERE id = ${runId}::uuid FOR UPDATE`;
  const row = rows[0];
  if (row === undefined) return null;
  if (!expect.status.includes(row.status)) return null;
  if (expect.workerId !== undefined && row.workerId !== expect.workerId) return null;
  return { id: runId, projectId: row.projectId, status: row.status };
}

export interface StepSelection {
  /** Steps currently in one of these states are moved; others are left alone. */
  status: readonly RunStatus[];
  ids?: readonly string[];
  index?: { lte?: number; gt?: number };
}

export type StepChange = Omit<Prisma.RunStepUncheckedUpdateManyInput, 'status' | 'id' | 'runId' | 'index'>;

/** Moves the selected steps of a run to `to`; returns the steps that moved. */
export async function transitionSteps(tx: Tx, run: RunRef, to: RunStatus, select: StepSelection, change: StepChange = {}): Promise<RunStep[]> {
  // Checked per state before writing: a selection that could make an illegal move is a bug in the caller.
  for (const from of select.status) assertStepTransition(select.ids?.join(',') ?? `of run ${run.id}`, from, to);
  const moved = await tx.runStep.updateManyAndReturn({
    where: {
      runId: run.id,
      status: { in: [...select.status] },
      ...(select.ids ? { id: { in: [...select.ids] } } : {}),
      ...(select.index ? { index: select.index } : {}),
    },
    data: { ...change, status: to },
  });
  moved.sort((a, b) => a.index - b.index);
  for (const step of moved) await emitRunEvent(tx, { kind: 'step', runId: run.id, projectId: run.projectId, stepId: step.id, index: step.index, status: to });
  return moved;
}

/** Moves exactly one step, or throws saying which state it was in. */
export async function transitionStep(tx: Tx, run: RunRef, stepId: string, to: RunStatus, from: readonly RunStatus[], change: StepChange = {}): Promise<RunStep> {
  const [moved] = await transitionSteps(tx, run, to, { status: from, ids: [stepId] }, change);
  if (moved) return moved;
  const current = await tx.runStep.findUnique({ where: { id: stepId }, select: { status: true } });
  if (!current) throw new Error(`step ${stepId} of run ${run.id} does not exist`);
  throw new IllegalTransitionError('step', stepId, current.status, to);
}

/**
 * The executing worker's progress, written and announced in one statement, only while
 * that worker owns the running run. Returns whether it was written.
 */
export async function reportProgress(db: Db, runId: string, workerId: string, progress: number, message: string): Promise<boolean> {
  const clipped = clipMessage(message);
  const rows = await db.$queryRaw<{ ok: number }[]>`
    WITH changed AS (
      UPDATE "Run" SET progress = ${progress}, "progressMessage" = ${message}
      WHERE id = ${runId}::uuid AND "workerId" = ${workerId} AND status = 'running'
      RETURNING id, "projectId")
    INSERT INTO "RunEventLog" (payload) SELECT json_build_object(
      'kind', 'progress', 'runId', id, 'projectId', "projectId", 'progress', ${progress}::float8,
      'message', ${clipped}::text, 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text
    FROM changed RETURNING 1 AS ok`;
  return rows.length === 1;
}

/** Asks the worker executing a running run to stop; the status changes when it has. */
export async function requestCancel(tx: Tx, runId: string): Promise<Run | null> {
  const changed = await tx.run.updateManyAndReturn({ where: { id: runId, status: 'running' }, data: { cancelRequested: true } });
  const run = changed[0];
  if (!run) return null;
  await emitRunEvent(tx, { kind: 'cancel-requested', runId, projectId: run.projectId });
  return run;
}

export interface NewMetricPoint {
  name: string;
  value: number;
  step?: number | null;
  runStepId?: string | null;
}

/** Records metric points of a run and announces them (in chunks that fit a NOTIFY). */
export async function recordMetricPoints(db: Db, run: RunRef, points: readonly NewMetricPoint[]): Promise<number> {
  if (points.length === 0) return 0;
  const rows: MetricPoint[] = points.map((p) => ({ name: p.name, value: p.value, step: p.step ?? null, runStepId: p.runStepId ?? null }));
  await db.metric.createMany({ data: rows.map((p) => ({ runId: run.id, ...p })) });
  await announceMetricPoints(db, run, rows);
  return rows.length;
}

/** Announces metric points the caller wrote in the same transaction (ingest writes its own, keyed rows). */
export async function announceMetricPoints(db: Db, run: RunRef, points: readonly MetricPoint[]): Promise<void> {
  if (points.length === 0) return;
  await emitRunEvent(db, { kind: 'metrics', runId: run.id, projectId: run.projectId, points: [...points] });
}

/**
 * Metric points of a training step in progress, recorded only while `workerId` owns the
 * running run (a taken-over attempt writes nothing). Returns whether they were recorded.
 */
export async function recordLivePoints(prisma: PrismaClient, runId: string, workerId: string, points: readonly NewMetricPoint[]): Promise<boolean> {
  if (points.length === 0) return true;
  return prisma.$transaction(async (tx) => {
    const owner = await tx.$queryRaw<{ projectId: string }[]>`
      SELECT "projectId" FROM "Run" WHERE id = ${runId}::uuid AND "workerId" = ${workerId} AND status = 'running' FOR SHARE`;
    if (owner.length !== 1) return false;
    await recordMetricPoints(tx, { id: runId, projectId: owner[0]!.projectId }, points);
    return true;
  });
}

/** Announces a model a run produced (the row is written by the caller in the same transaction). */
export async function announceModel(tx: Tx, run: RunRef, modelId: string, stepIndex: number): Promise<void> {
  await emitRunEvent(tx, { kind: 'model', runId: run.id, projectId: run.projectId, modelId, stepIndex });
}
