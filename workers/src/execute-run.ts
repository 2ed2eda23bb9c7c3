/**
 * One attempt at a run: claim it, run each recipe step in a Piscina thread, store each
 * output model (the store write completes before any row points at it), evaluate the
 * final model and the base model, and record everything in one transaction. Progress
 * and the heartbeat are the only writes before that; a failure, a cancellation or a
 * shutdown records its outcome in one transaction too, so no attempt is half-written.
 */
import type { PrismaClient } from '@distillery/db';
import { ArtifactNotFoundError, readArtifact, type ArtifactStore, type PutResult } from '@distillery/artifacts';
import { EvalSettingsSchema, parseRecipe, RecipeError, type Recipe } from '@distillery/techniques';
import type { Logger } from 'pino';
import { calibrationInput, calibrationSettings, storeCalibrationSet } from './calibration-set';
import { BaseEvaluationCache, findRecordedBaseEvaluation, tokenizerShaOf, type BaseEvaluationKey } from './base-evaluation';
import { CancelFlag, type ActiveAttempts, type StopReason } from './cancel-flag';
import { throttleProgress } from './progress-throttle';
import { errorMessage, PermanentRunError, RunNotOwnedError, RunStoppedError } from './run-errors';
import { startHeartbeat } from './run-heartbeat';
import { runMetrics, type StepFigures } from './run-metrics';
import {
  claimRun,
  markStepRunning,
  recordCanceled,
  recordFailure,
  recordSuccess,
  requeueAfterShutdown,
  writeProgress,
  type ClaimedRun,
  type StepOutput,
} from './run-records';
import type { ThreadPool } from './thread-pool';
import type { EvaluateTaskOutput, EvaluationSettings, ThreadOutcome } from './thread-messages';

export const EXECUTE_RUN_TASK = 'execute-run';

/** Default number of test-split tokens scored per evaluation. */
export const DEFAULT_EVAL_MAX_TOKENS = EvalSettingsSchema.parse({}).maxTokens;

/** `recipe.eval`: how the final and base models are evaluated. */

export interface ExecuteRunDeps {
  prisma: PrismaClient;
  store: ArtifactStore;
  pool: ThreadPool;
  log: Logger;
  baseEvaluations: BaseEvaluationCache;
  /** Stop flags of the attempts in progress, so a shutdown can stop them at safe points. */
  active: ActiveAttempts;
  heartbeatMs: number;
  progressIntervalMs: number;
}

export interface RunAttempt {
  runId: string;
  /** Who holds the job lock (graphile-worker's pool id for this process). */
  workerId: string;
  /** graphile-worker job id (bigint as text). */
  jobId: string;
  /** 1-based, as graphile-worker counts it (incremented when the job was locked). */
  attempt: number;
  maxAttempts: number;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'canceled' | 'requeued' | 'skipped';

/** Thrown after a transient failure was recorded, so graphile-worker schedules the retry. */
export class RetryRunError extends Error {
  override name = 'RetryRunError';
}

/** Thrown when the run belongs to another attempt now; see recordUnsuccessful. */
export class RunTakenOverError extends Error {
  override name = 'RunTakenOverError';
}

function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  // Buffers from the store may be views into a larger pooled allocation; a transfer moves
  // the whole underlying buffer, so hand threads a buffer of exactly the model.
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

function evalSettings(recipe: unknown): EvaluationSettings {
  const raw = recipe !== null && typeof recipe === 'object' && !Array.isArray(recipe) ? (recipe as Record<string, unknown>).eval : undefined;
  const parsed = EvalSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new PermanentRunError(`invalid recipe.eval: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(eval)'}: ${i.message}`).join('; ')}`);
  }
  return { maxTokens: parsed.data.maxTokens, window: parsed.data.window ?? null, stride: parsed.data.stride ?? null };
}

async function readStored(store: ArtifactStore, sha256: string, what: string): Promise<Buffer> {
  try {
    return await readArtifact(store, sha256);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) throw new PermanentRunError(`${what} (${sha256}) is missing from the artifact store`);
    throw error;
  }
}

function unwrap<T>(outcome: ThreadOutcome<T>, flag: CancelFlag, stepIndex?: number): T {
  if (outcome.ok) return outcome.value;
  if (outcome.reason === 'canceled') throw new RunStoppedError(flag.reason ?? 'canceled');
  throw new PermanentRunError(outcome.message, stepIndex);
}

export async function executeRun(attempt: RunAttempt, deps: ExecuteRunDeps): Promise<AttemptOutcome> {
  const { prisma, log } = deps;
  const claim = await claimRun(prisma, attempt.runId, attempt.workerId, attempt.jobId);
  if (!claim.claimed) {
    log.info({ runId: attempt.runId, why: claim.why }, 'run skipped');
    return 'skipped';
  }
  const run = claim.run;
  const flag = new CancelFlag();
  deps.active.add(flag);
  const heartbeat = startHeartbeat(
    prisma,
    run.id,
    attempt.workerId,
    deps.heartbeatMs,
    (reason) => flag.request(reason),
    (error) => log.warn({ runId: run.id, err: error }, 'heartbeat failed'),
  );
  const progress = throttleProgress((p) => writeProgress(prisma, run.id, attempt.workerId, p.fraction, p.message), deps.progressIntervalMs);
  // Every thread task this attempt starts, so none outlives it (shutdown drains by jobs).
  const tasks = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    tasks.add(p);
    return p;
  };
  let reachedStep = -1;
  log.info({ runId: run.id, attempt: attempt.attempt, maxAttempts: attempt.maxAttempts, steps: run.steps.length }, 'run started');
  try {
    const outcome = await attemptRun(run, attempt, deps, flag, progress.report, track, (i) => (reachedStep = i));
    await progress.stop();
    return outcome;
  } catch (error) {
    // A stop requested before the error (cancel, shutdown, takeover) decides the outcome.
    const priorStop = flag.reason;
    flag.request('canceled'); // stop sibling tasks (the base evaluation) at their next safe point
    await Promise.allSettled([...tasks]);
    await progress.stop();
    return await recordUnsuccessful(error, run, attempt, deps, priorStop, reachedStep);
  } finally {
    await Promise.allSettled([...tasks]);
    await heartbeat.stop();
    deps.active.delete(flag);
  }
}

async function recordUnsuccessful(
  error: unknown,
  run: ClaimedRun,
  attempt: RunAttempt,
  deps: ExecuteRunDeps,
  priorStop: StopReason | null,
  reachedStep: number,
): Promise<AttemptOutcome> {
  const { prisma, log } = deps;
  const stop = error instanceof RunStoppedError ? error.reason : (priorStop ?? (error instanceof RunNotOwnedError ? 'lost' : null));
  if (stop === 'canceled' || (stop === 'lost' && (await prisma.run.findUnique({ where: { id: run.id } }))?.status === 'canceled')) {
    const recorded = await recordCanceled(prisma, run.id, attempt.workerId, attempt.jobId);
    log.info({ runId: run.id, recorded }, 'run canceled');
    return 'canceled';
  }
  if (stop === 'shutdown') {
    const requeued = await requeueAfterShutdown(prisma, run.id, attempt.workerId, attempt.jobId, EXECUTE_RUN_TASK, attempt.maxAttempts);
    log.info({ runId: run.id, requeued }, 'run interrupted by shutdown');
    if (!requeued) throw new RunTakenOverError(`run ${run.id} was taken over by another worker`);
    return 'requeued';
  }
  if (stop === 'lost') {
    log.warn({ runId: run.id }, 'run was taken over by another worker; this attempt records nothing');
    // Thrown, not returned: graphile-worker deletes a completed job by id even if another
    // worker has locked it since, whereas failing it only touches jobs still locked by us.
    throw new RunTakenOverError(`run ${run.id} was taken over by another worker`);
  }
  const message = errorMessage(error);
  const permanent = error instanceof PermanentRunError;
  const final = permanent || attempt.attempt >= attempt.maxAttempts;
  const failedStep = permanent && error.stepIndex !== undefined ? error.stepIndex : reachedStep;
  const recorded = await recordFailure(prisma, run.id, attempt.workerId, attempt.jobId, message, final, failedStep);
  log.error({ runId: run.id, err: error, permanent, final, recorded, attempt: attempt.attempt }, 'run attempt failed');
  if (!recorded) throw new RunTakenOverError(`run ${run.id} was taken over by another worker`);
  if (final) return 'failed';
  throw new RetryRunError(message, { cause: error });
}

async function attemptRun(
  run: ClaimedRun,
  attempt: RunAttempt,
  deps: ExecuteRunDeps,
  flag: CancelFlag,
  report: (p: { fraction: number; message: string }) => void,
  track: <T>(p: Promise<T>) => Promise<T>,
  reached: (stepIndex: number) => void,
): Promise<AttemptOutcome> {
  const { prisma, store, pool } = deps;
  if (run.steps.length === 0) throw new PermanentRunError('the run has no steps');
  let recipe: Recipe;
  try {
    recipe = parseRecipe({ steps: run.steps.map((s) => ({ technique: s.techniqueId, params: s.params })) });
  } catch (error) {
    if (error instanceof RecipeError) {
      const at = /^steps\[(\d+)\]/.exec(error.problems[0] ?? '');
      throw new PermanentRunError(error.message, at ? Number(at[1]) : undefined);
    }
    throw error;
  }
  const settings = evalSettings(run.recipe);
  const calibration = calibrationSettings(run.recipe);
  const calibrationJob = calibration && (await calibrationInput(prisma, store, run.baseModel.teamId, calibration));
  let calibrationStored: PutResult | undefined;
  if (run.baseModel.format !== 'onnx') throw new PermanentRunError(`the base model is ${run.baseModel.format}; runs need an ONNX model (import it first)`);

  const baseBytes = await readStored(store, run.baseModel.sha256, 'the base model');
  const tokenizerSha = tokenizerShaOf(run.baseModel.config);
  const tokenizerJson = tokenizerSha === null ? null : (await readStored(store, tokenizerSha, 'the base model tokenizer')).toString('utf8');

  // Progress: one unit per step and per evaluation, each reporting its own fraction.
  const baseKey: BaseEvaluationKey = { modelSha256: run.baseModel.sha256, tokenizerSha256: tokenizerSha, settings };
  let base: EvaluateTaskOutput | null = deps.baseEvaluations.get(baseKey) ?? (await findRecordedBaseEvaluation(prisma, baseKey));
  const units = new Map<string, number>();
  const totalUnits = recipe.steps.length + 1 + (base === null ? 1 : 0);
  const unit = (id: string) => (p: { fraction: number; message?: string }, label?: string) => {
    units.set(id, p.fraction);
    let sum = 0;
    for (const f of units.values()) sum += f;
    report({ fraction: Math.min(0.99, sum / totalUnits), message: label ?? p.message ?? id });
  };

  // The base evaluation runs beside the steps, on the pool's other thread.
  const baseTask =
    base === null
      ? track(pool.evaluate({ model: exactBuffer(baseBytes), tokenizerJson, settings }, { cancel: flag, onProgress: (p) => unit('base')(p, `evaluating the base model: ${p.message ?? ''}`) }))
      : null;

  const outputs: StepOutput[] = [];
  const figures: StepFigures[] = [];
  const stepReports: { index: number; technique: string; params: Record<string, unknown>; report: Record<string, unknown> }[] = [];
  let current = exactBuffer(baseBytes);
  for (let i = 0; i < recipe.steps.length; i++) {
    if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');
    reached(i);
    const step = run.steps[i]!;
    const { technique, params } = recipe.steps[i]!;
    const startedAt = new Date();
    await markStepRunning(deps.prisma, run.id, attempt.workerId, step.id, startedAt);
    const onProgress = (p: { fraction: number; message?: string }) => unit(`step${i}`)(p, `step ${i + 1}/${recipe.steps.length} ${technique}: ${p.message ?? ''}`);
    const out = unwrap(await track(pool.runTechnique({ model: current, techniqueId: technique, params, tokenizerJson, calibration: calibrationJob }, { cancel: flag, onProgress })), flag, i);
    // Stored before anything can point at it, and before the buffer moves to the next thread.
    const stored: PutResult = await deps.store.put(new Uint8Array(out.model));
    if (out.calibration && !calibrationStored) calibrationStored = await storeCalibrationSet(store, out.calibration);
    outputs.push({ step, stored, parameters: out.parameters, startedAt, finishedAt: new Date() });
    figures.push({ index: i, runStepId: step.id, report: out.report, bytes: stored.bytes, parameters: out.parameters, series: out.series });
    stepReports.push({ index: i, technique, params, report: out.report });
    current = out.model;
  }
  reached(recipe.steps.length);
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');

  const final = unwrap(
    await track(pool.evaluate({ model: current, tokenizerJson, settings }, { cancel: flag, onProgress: (p) => unit('final')(p, `evaluating the output: ${p.message ?? ''}`) })),
    flag,
  );
  if (baseTask !== null) {
    base = unwrap(await baseTask, flag);
    deps.baseEvaluations.set(baseKey, base);
  }
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');

  const notes = [final.note, base!.note && `base model: ${base!.note}`].filter((n): n is string => typeof n === 'string');
  const calibrationReport = calibration && calibrationStored && { ...calibration, sha256: calibrationStored.sha256 };
  const reportJson = JSON.stringify({ runId: run.id, attempt: attempt.attempt, steps: stepReports, evaluation: { settings, final, base }, calibration: calibrationReport, notes }, null, 2);
  const reportStored = await store.put(new TextEncoder().encode(reportJson));
  const metrics = runMetrics({ steps: figures, final, base: base!, settings });
  await recordSuccess(prisma, {
    run,
    workerId: attempt.workerId,
    jobId: attempt.jobId,
    outputs,
    metrics,
    report: reportStored,
    calibration: calibrationStored,
    message: notes.length ? `done; ${notes[0]}` : 'done',
  });
  deps.log.info({ runId: run.id, metrics: metrics.length, outputs: outputs.length }, 'run succeeded');
  return 'succeeded';
}
