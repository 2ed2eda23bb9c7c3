/**
 * Every write an attempt makes to a run's rows besides progress and heartbeat. Each is
 * one transaction and each is conditional on this worker still owning the run
 * (status running, workerId = us), so an attempt that was given up on by the sweep, or
 * canceled, can never overwrite what happened since.
 */
import type { Model, PrismaClient, Prisma, Run, RunStep } from '@distillery/db';
import type { PutResult } from '@distillery/artifacts';
import { deleteJob } from './graphile-jobs';
import { RunNotOwnedError } from './run-errors';
import type { MetricInput } from './run-metrics';

export type ClaimedRun = Run & { steps: RunStep[]; baseModel: Model };

export type Claim = { claimed: true; run: ClaimedRun } | { claimed: false; why: string };

const FINISHED = new Set(['succeeded', 'failed', 'canceled']);

/** Marks the run running for this attempt; refuses runs that are finished or to be canceled. */
export async function claimRun(prisma: PrismaClient, runId: string, workerId: string, jobId: string): Promise<Claim> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ status: string; cancelRequested: boolean }[]>`
      SELECT status::text AS status, "cancelRequested" FROM "Run" WHERE id = ${runId}::uuid FOR UPDATE`;
    const row = rows[0];
    if (row === undefined) return { claimed: false, why: 'the run no longer exists' };
    if (FINISHED.has(row.status)) return { claimed: false, why: `the run is already ${row.status}` };
    if (row.cancelRequested) {
      const now = new Date();
      await tx.run.update({ where: { id: runId }, data: { status: 'canceled', finishedAt: now, progressMessage: 'canceled before it started' } });
      await tx.runStep.updateMany({ where: { runId, status: { in: ['queued', 'running'] } }, data: { status: 'canceled', finishedAt: now } });
      await deleteJob(tx, jobId, workerId);
      return { claimed: false, why: 'cancellation was requested before it started' };
    }
    // A new attempt starts every step afresh: clear what an interrupted attempt marked.
    await tx.runStep.updateMany({ where: { runId, status: 'running' }, data: { status: 'queued', startedAt: null } });
    const run = await tx.run.update({
      where: { id: runId },
      data: {
        status: 'running',
        attempts: { increment: 1 },
        startedAt: new Date(),
        finishedAt: null,
        workerId,
        heartbeatAt: new Date(),
        progress: 0,
        progressMessage: 'starting',
      },
      include: { steps: { orderBy: { index: 'asc' } }, baseModel: true },
    });
    return { claimed: true, run };
  });
}

export async function writeProgress(prisma: PrismaClient, runId: string, workerId: string, progress: number, message: string): Promise<void> {
  await prisma.run.updateMany({ where: { id: runId, workerId, status: 'running' }, data: { progress, progressMessage: message } });
}

/** Shows which step is executing; only while this worker still owns the running run. */
export async function markStepRunning(prisma: PrismaClient, runId: string, workerId: string, stepId: string, startedAt: Date): Promise<void> {
  await prisma.runStep.updateMany({
    where: { id: stepId, runId, run: { workerId, status: 'running' } },
    data: { status: 'running', startedAt },
  });
}

export interface StepOutput {
  step: RunStep;
  stored: PutResult;
  parameters: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface SuccessRecord {
  run: ClaimedRun;
  workerId: string;
  jobId: string;
  outputs: StepOutput[];
  metrics: MetricInput[];
  report: PutResult;
  /** The calibration set the steps received (recipe.calibration), stored as an artifact of kind 'calibration'. */
  calibration?: PutResult;
  message: string;
}

/** Output models (with lineage), step statuses, artifacts, metrics and the run's status, all at once. */
export async function recordSuccess(prisma: PrismaClient, r: SuccessRecord): Promise<void> {
  const { run } = r;
  await prisma.$transaction(async (tx) => {
    const now = new Date();
    const owned = await tx.run.updateMany({
      where: { id: run.id, workerId: r.workerId, status: 'running' },
      data: { status: 'succeeded', finishedAt: now, progress: 1, progressMessage: r.message, error: null, heartbeatAt: null },
    });
    if (owned.count !== 1) throw new RunNotOwnedError(`run ${run.id} is no longer owned by ${r.workerId}`);
    let parentId = run.baseModelId;
    let name = run.baseModel.name;
    const artifacts: Prisma.ArtifactCreateManyInput[] = [];
    for (const out of r.outputs) {
      name = `${name} → ${out.step.techniqueId}`;
      const model = await tx.model.create({
        data: {
          teamId: run.baseModel.teamId,
          projectId: run.projectId,
          name,
          format: 'onnx',
          sha256: out.stored.sha256,
          bytes: BigInt(out.stored.bytes),
          parameterCount: BigInt(out.parameters),
          storagePath: out.stored.path,
          // Outputs keep the base model's tokenizer, so they can be evaluated and run in turn.
          config: (run.baseModel.config ?? undefined) as Prisma.InputJsonValue | undefined,
          parentId,
          producedByRunId: run.id,
        },
      });
      await tx.runStep.update({
        where: { id: out.step.id },
        data: { status: 'succeeded', startedAt: out.startedAt, finishedAt: out.finishedAt, outputModelId: model.id },
      });
      artifacts.push({ runId: run.id, kind: 'model', sha256: out.stored.sha256, bytes: BigInt(out.stored.bytes), storagePath: out.stored.path, modelId: model.id });
      parentId = model.id;
    }
    artifacts.push({ runId: run.id, kind: 'report', sha256: r.report.sha256, bytes: BigInt(r.report.bytes), storagePath: r.report.path });
    if (r.calibration) artifacts.push({ runId: run.id, kind: 'calibration', sha256: r.calibration.sha256, bytes: BigInt(r.calibration.bytes), storagePath: r.calibration.path });
    await tx.artifact.createMany({ data: artifacts });
    await tx.metric.createMany({
      data: r.metrics.map((m) => ({ runId: run.id, runStepId: m.runStepId ?? null, name: m.name, value: m.value, step: m.step ?? null })),
    });
    await deleteJob(tx, r.jobId, r.workerId);
  });
}

/**
 * A failed attempt. `final`: the run is failed for good (steps marked failed, or canceled
 * when they never started); otherwise it is queued again for graphile-worker's retry.
 */
export async function recordFailure(
  prisma: PrismaClient,
  runId: string,
  workerId: string,
  jobId: string,
  message: string,
  final: boolean,
  reachedStep: number,
): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const now = new Date();
    const data: Prisma.RunUpdateManyMutationInput = final
      ? { status: 'failed', error: message, progressMessage: `failed: ${message}`, finishedAt: now, heartbeatAt: null }
      : { status: 'queued', error: message, progressMessage: `attempt failed, will retry: ${message}`, workerId: null, heartbeatAt: null, progress: 0 };
    const owned = await tx.run.updateMany({ where: { id: runId, workerId, status: 'running' }, data });
    if (owned.count !== 1) return false;
    if (final) {
      await tx.runStep.updateMany({ where: { runId, index: { lte: reachedStep }, status: { in: ['queued', 'running'] } }, data: { status: 'failed', finishedAt: now } });
      await tx.runStep.updateMany({ where: { runId, index: { gt: reachedStep }, status: { in: ['queued', 'running'] } }, data: { status: 'canceled', finishedAt: now } });
      await deleteJob(tx, jobId, workerId);
    }
    return true;
  });
}

/** Canceled while running: nothing of the attempt is kept. */
export async function recordCanceled(prisma: PrismaClient, runId: string, workerId: string, jobId: string): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const now = new Date();
    const rows = await tx.$queryRaw<{ finishedAt: Date | null }[]>`
      SELECT "finishedAt" FROM "Run" WHERE id = ${runId}::uuid AND "workerId" = ${workerId} AND status IN ('running', 'canceled') FOR UPDATE`;
    if (rows.length !== 1) return false;
    await tx.run.update({
      where: { id: runId },
      data: { status: 'canceled', finishedAt: rows[0]!.finishedAt ?? now, progressMessage: 'canceled', heartbeatAt: null },
    });
    await tx.runStep.updateMany({ where: { runId, status: { in: ['queued', 'running'] } }, data: { status: 'canceled', finishedAt: now } });
    await deleteJob(tx, jobId, workerId);
    return true;
  });
}

/**
 * Interrupted by this worker's shutdown: the run goes back to the queue with a fresh job
 * under the same key (replacing the one this worker holds), and the interrupted attempt
 * is not counted against the run, since nothing went wrong with it.
 */
export async function requeueAfterShutdown(
  prisma: PrismaClient,
  runId: string,
  workerId: string,
  jobId: string,
  taskIdentifier: string,
  maxAttempts: number,
): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const owned = await tx.run.updateMany({
      where: { id: runId, workerId, status: 'running' },
      data: {
        status: 'queued',
        attempts: { decrement: 1 },
        workerId: null,
        heartbeatAt: null,
        progress: 0,
        progressMessage: 'interrupted by a worker shutdown; queued again',
      },
    });
    if (owned.count !== 1) return false;
    await deleteJob(tx, jobId, workerId);
    await tx.$executeRaw`SELECT graphile_worker.add_job(${taskIdentifier}::text, json_build_object('runId', ${runId}::text), job_key := ${runId}::text, max_attempts := ${maxAttempts}::int)`;
    return true;
  });
}
