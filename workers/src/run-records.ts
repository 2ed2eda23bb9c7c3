/**
 * Every write an attempt makes to a run's rows besides progress and heartbeat. Each is
 * one transaction and each is conditional on this worker still owning the run
 * (status running, workerId = us), so an attempt that was given up on by the sweep, or
 * canceled, can never overwrite what happened since.
 */
import {
  announceModel,
  lockRun,
  FINISHED_STATUSES,
  recordMetricPoints,
  reportProgress,
  transitionRun,
  transitionStep,
  transitionSteps,
  type Artifact,
  type Model,
  type PrismaClient,
  type Prisma,
  type Run,
  type RunStatus,
  type RunStep,
} from '@distillery/db';
import type { PutResult } from '@distillery/artifacts';
import { deleteJob } from './graphile-jobs';
import { retryOnConnectionLoss } from './db-retry';
import { derivedModelName } from './derived-model-name';
import { RunNotOwnedError } from './run-errors';
import type { MetricInput } from './run-metrics';
import type { RunProvenance } from './run-provenance';

export type ClaimedRun = Run & { steps: RunStep[]; baseModel: Model & { tokenizer: Artifact | null } };

export type Claim = { claimed: true; run: ClaimedRun } | { claimed: false; why: string };

/** Marks the run running for this attempt; refuses runs that are finished or to be canceled. */
export async function claimRun(prisma: PrismaClient, runId: string, workerId: string, jobId: string): Promise<Claim> {
  return retryOnConnectionLoss(() => prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ status: RunStatus; cancelRequested: boolean; projectId: string }[]>`
      SELECT status::text AS status, "cancelRequested", "projectId" FROM "Run" WHERE id = ${runId}::uuid FOR UPDATE`;
    const row = rows[0];
    if (row === undefined) return { claimed: false, why: 'the run no longer exists' };
    if (FINISHED_STATUSES.includes(row.status)) return { claimed: false, why: `the run is already ${row.status}` };
    const ref = { id: runId, projectId: row.projectId };
    if (row.cancelRequested) {
      const now = new Date();
      await transitionSteps(tx, ref, 'canceled', { status: ['queued', 'running'] }, { finishedAt: now });
      await transitionRun(tx, runId, 'canceled', { status: [row.status] }, { finishedAt: now, progressMessage: 'canceled before it started' });
      await deleteJob(tx, jobId, workerId);
      return { claimed: false, why: 'cancellation was requested before it started' };
    }
    // A new attempt starts every step afresh: clear what an interrupted attempt marked,
    // including the metric points its training steps recorded while they ran.
    await transitionSteps(tx, ref, 'queued', { status: ['running'] }, { startedAt: null });
    await tx.metric.deleteMany({ where: { runId } });
    await transitionRun(tx, runId, 'running', { status: [row.status] }, {
      attempts: { increment: 1 },
      startedAt: new Date(),
      finishedAt: null,
      workerId,
      heartbeatAt: new Date(),
      progress: 0,
      progressMessage: 'starting',
    });
    const run = await tx.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } }, baseModel: { include: { tokenizer: true } } } });
    return { claimed: true, run };
  }));
}

export async function writeProgress(prisma: PrismaClient, runId: string, workerId: string, progress: number, message: string): Promise<void> {
  await reportProgress(prisma, runId, workerId, progress, message);
}

/** Shows which step is executing; only while this worker still owns the running run. */
export async function markStepRunning(prisma: PrismaClient, runId: string, workerId: string, stepId: string, startedAt: Date): Promise<void> {
  await retryOnConnectionLoss(() =>
    prisma.$transaction(async (tx) => {
      const owner = await tx.run.findFirst({ where: { id: runId, workerId, status: 'running' }, select: { id: true, projectId: true } });
      if (!owner) return;
      await transitionSteps(tx, owner, 'running', { status: ['queued'], ids: [stepId] }, { startedAt });
    }),
  );
}

export interface StepOutput {
  step: RunStep;
  stored: PutResult;
  parameters: number;
  /** The output's config.json when it is a decoder (its shape may differ from the base model's). */
  decoderConfig?: Record<string, unknown> | null;
  startedAt: Date;
  finishedAt: Date;
}

/** The base model's config with the output's own decoder config. */
function outputConfig(base: unknown, decoderConfig: Record<string, unknown> | null | undefined): Prisma.InputJsonValue | undefined {
  const kept = base !== null && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  if (decoderConfig) kept.decoderConfig = decoderConfig;
  else delete kept.decoderConfig;
  return Object.keys(kept).length ? (kept as Prisma.InputJsonValue) : undefined;
}

export interface SuccessRecord {
  run: ClaimedRun;
  workerId: string;
  jobId: string;
  outputs: StepOutput[];
  metrics: MetricInput[];
  report: PutResult;
  /** Suite, task scores and samples (Run.evaluation). */
  evaluation?: unknown;
  /** The calibration set the steps received (recipe.calibration), stored as an artifact of kind 'calibration'. */
  calibration?: PutResult;
  /** What the result depends on besides the recipe (run-provenance.ts). */
  provenance: RunProvenance;
  message: string;
}

/** Output models (with lineage), step statuses, artifacts, metrics and the run's status, all at once. */
export async function recordSuccess(prisma: PrismaClient, r: SuccessRecord): Promise<void> {
  const { run } = r;
  await retryOnConnectionLoss(() => prisma.$transaction(async (tx) => {
    const now = new Date();
    const expectOwned = { status: ['running'] as const, workerId: r.workerId };
    if ((await lockRun(tx, run.id, expectOwned)) === null) throw new RunNotOwnedError(`run ${run.id} is no longer owned by ${r.workerId}`);
    const teamId = run.baseModel.teamId;
    let parentId = run.baseModelId;
    let name = run.baseModel.name;
    const artifacts: Prisma.ArtifactCreateManyInput[] = [];
    for (const out of r.outputs) {
      name = derivedModelName(name, out.step.techniqueId);
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
          config: outputConfig(run.baseModel.config, out.decoderConfig),
          // Outputs keep the base model's tokenizer, so they can be evaluated and run in turn.
          tokenizerId: run.baseModel.tokenizerId,
          parentId,
          producedByRunId: run.id,
        },
      });
      await transitionStep(tx, run, out.step.id, 'succeeded', ['running'], { startedAt: out.startedAt, finishedAt: out.finishedAt, outputModelId: model.id });
      await announceModel(tx, run, model.id, out.step.index);
      artifacts.push({ teamId, runId: run.id, kind: 'model', sha256: out.stored.sha256, bytes: BigInt(out.stored.bytes), storagePath: out.stored.path, modelId: model.id });
      parentId = model.id;
    }
    artifacts.push({ teamId, runId: run.id, kind: 'report', sha256: r.report.sha256, bytes: BigInt(r.report.bytes), storagePath: r.report.path });
    await tx.artifact.createMany({ data: artifacts });
    const calibration = r.calibration
      ? await tx.artifact.create({ data: { teamId, runId: run.id, kind: 'calibration', sha256: r.calibration.sha256, bytes: BigInt(r.calibration.bytes), storagePath: r.calibration.path } })
      : null;
    // The live points of training steps are replaced by the thinned series of the record.
    await tx.metric.deleteMany({ where: { runId: run.id } });
    await recordMetricPoints(tx, run, r.metrics);
    await transitionRun(tx, run.id, 'succeeded', expectOwned, {
      finishedAt: now,
      progress: 1,
      progressMessage: r.message,
      error: null,
      heartbeatAt: null,
      evaluation: r.evaluation === undefined ? undefined : (r.evaluation as Prisma.InputJsonValue),
      calibrationId: calibration?.id ?? null,
      provenance: r.provenance as unknown as Prisma.InputJsonValue,
      codeVersion: r.provenance.codeVersion,
    });
    await deleteJob(tx, r.jobId, r.workerId);
  }));
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
  return retryOnConnectionLoss(() => prisma.$transaction(async (tx) => {
    const now = new Date();
    const expect = { status: ['running'] as const, workerId };
    const owned = await lockRun(tx, runId, expect);
    if (owned === null) return false;
    // Points a training step recorded while it ran belong to an attempt that left no result.
    await tx.metric.deleteMany({ where: { runId } });
    if (final) {
      await transitionSteps(tx, owned, 'failed', { status: ['queued', 'running'], index: { lte: reachedStep } }, { finishedAt: now });
      await transitionSteps(tx, owned, 'canceled', { status: ['queued', 'running'], index: { gt: reachedStep } }, { finishedAt: now });
      await transitionRun(tx, runId, 'failed', expect, { error: message, progressMessage: `failed: ${message}`, finishedAt: now, heartbeatAt: null });
      await deleteJob(tx, jobId, workerId);
    } else {
      await transitionRun(tx, runId, 'queued', expect, { error: message, progressMessage: `attempt failed, will retry: ${message}`, workerId: null, heartbeatAt: null, progress: 0 });
    }
    return true;
  }));
}

/** Canceled while running: nothing of the attempt is kept. */
export async function recordCanceled(prisma: PrismaClient, runId: string, workerId: string, jobId: string): Promise<boolean> {
  return retryOnConnectionLoss(() => prisma.$transaction(async (tx) => {
    const now = new Date();
    const rows = await tx.$queryRaw<{ status: RunStatus; projectId: string }[]>`
      SELECT status::text AS status, "projectId" FROM "Run" WHERE id = ${runId}::uuid AND "workerId" = ${workerId} AND status IN ('running', 'canceled') FOR UPDATE`;
    const row = rows[0];
    if (row === undefined) return false;
    // Already canceled (before this attempt noticed): only its steps and job are left to settle.
    await tx.metric.deleteMany({ where: { runId } });
    await transitionSteps(tx, { id: runId, projectId: row.projectId }, 'canceled', { status: ['queued', 'running'] }, { finishedAt: now });
    if (row.status === 'running') await transitionRun(tx, runId, 'canceled', { status: ['running'], workerId }, { finishedAt: now, progressMessage: 'canceled', heartbeatAt: null });
    await deleteJob(tx, jobId, workerId);
    return true;
  }));
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
  return retryOnConnectionLoss(() => prisma.$transaction(async (tx) => {
    const owned = await transitionRun(tx, runId, 'queued', { status: ['running'], workerId }, {
      attempts: { decrement: 1 },
      workerId: null,
      heartbeatAt: null,
      progress: 0,
      progressMessage: 'interrupted by a worker shutdown; queued again',
    });
    if (owned === null) return false;
    await deleteJob(tx, jobId, workerId);
    await tx.$executeRaw`SELECT graphile_worker.add_job(${taskIdentifier}::text, json_build_object('runId', ${runId}::text), job_key := ${runId}::text, max_attempts := ${maxAttempts}::int)`;
    return true;
  }));
}
