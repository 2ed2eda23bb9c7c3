/**
 * One attempt at a run: claim it, run each recipe step in a Piscina thread, store each
 * output model (the store write completes before any row points at it), evaluate the
 * final model and the base model, and record everything in one transaction. Progress
 * and the heartbeat are the only writes before that; a failure, a cancellation or a
 * shutdown records its outcome in one transaction too, so no attempt is half-written.
 */
import type { PrismaClient } from '@distillery/db';
import { ArtifactNotFoundError, readArtifact, type ArtifactStore, type PutResult } from '@distillery/artifacts';
import { EvalSettingsSchema, MAX_METRICS_PER_RUN, parseRecipe, RecipeError, type EvalSettings, type Recipe } from '@distillery/techniques';
import type { Logger } from 'pino';
import { hasFileRows, mergePerplexity, streamFigures, type ModelEvaluation } from '@distillery/eval';
import { baseCacheKey, BaseEvaluationCache, findRecordedBaseEvaluation, tokenizerShaOf, type BaseEvaluationKey, type RunEvaluationRecord } from './base-evaluation';
import { parseTaskFiles, prepareSuite, suiteSettingsOf } from './evaluation-suite';
import { calibrationInput, calibrationSettings, storeCalibrationSet } from './calibration-set';
import { CancelFlag, type ActiveAttempts, type StopReason } from './cancel-flag';
import { retryOnConnectionLoss } from './db-retry';
import { throttleProgress } from './progress-throttle';
import { errorMessage, PermanentRunError, RunNotOwnedError, RunStoppedError } from './run-errors';
import { liveMetricWriter } from './live-metric-writer';
import { startHeartbeat } from './run-heartbeat';
import { runProvenance } from './run-provenance';
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
import type { ThreadOutcome } from './thread-messages';

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
  /** An attempt running longer than this fails for good (RUN_TIME_LIMIT_S); default: no limit. */
  runTimeLimitMs?: number;
  /** Folder of cached base-model log-distributions (KL against the base). */
  evalCacheDir: string;
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

function evalSettings(recipe: unknown): EvalSettings {
  const raw = recipe !== null && typeof recipe === 'object' && !Array.isArray(recipe) ? (recipe as Record<string, unknown>).eval : undefined;
  const parsed = EvalSettingsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new PermanentRunError(`invalid recipe.eval: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(eval)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
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
  // The limit stops the attempt at its next safe point, like a cancel, and is recorded as a failure.
  const limitTimer = deps.runTimeLimitMs === undefined ? null : setTimeout(() => flag.request('timeout'), deps.runTimeLimitMs);
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
    if (limitTimer) clearTimeout(limitTimer);
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
  if (stop === 'timeout') {
    const limit = `${(deps.runTimeLimitMs ?? 0) / 1000} s`;
    const message = `the run exceeded its time limit of ${limit} (RUN_TIME_LIMIT_S) and was stopped at step ${reachedStep + 1} of ${run.steps.length}${reachedStep >= run.steps.length ? ' (evaluation)' : ''}`;
    const recorded = await recordFailure(prisma, run.id, attempt.workerId, attempt.jobId, message, true, reachedStep);
    log.warn({ runId: run.id, recorded, limit }, 'run exceeded its time limit');
    if (!recorded) throw new RunTakenOverError(`run ${run.id} was taken over by another worker`);
    return 'failed';
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
  const requested = evalSettings(run.recipe);
  const settings = suiteSettingsOf(requested, pool.threads);
  const calibration = calibrationSettings(run.recipe);
  const calibrationJob = calibration && (await calibrationInput(prisma, store, run.baseModel.teamId, calibration));
  let calibrationStored: PutResult | undefined;
  if (run.baseModel.format !== 'onnx') throw new PermanentRunError(`the base model is ${run.baseModel.format}; runs need an ONNX model (import it first)`);
  if (run.baseModel.status !== 'ready') throw new PermanentRunError(`the base model is ${run.baseModel.status}, not ready; runs need a model whose import has finished`);

  const baseBytes = await readStored(store, run.baseModel.sha256, 'the base model');
  const tokenizerSha = tokenizerShaOf(run.baseModel);
  const tokenizerJson = tokenizerSha === null ? null : (await readStored(store, tokenizerSha, 'the base model tokenizer')).toString('utf8');

  const taskFiles = await Promise.all((requested.tasks ?? []).map(async (t) => ({ name: t.name, text: (await readStored(store, t.sha256, `task file "${t.name}"`)).toString('utf8') })));
  const { suite, tasks } = prepareSuite(settings, parseTaskFiles(taskFiles));

  // Progress: one unit per step and per evaluation, each reporting its own fraction.
  const baseKey: BaseEvaluationKey = { modelSha256: run.baseModel.sha256, tokenizerSha256: tokenizerSha, suiteHash: suite.hash };
  const cacheKey = baseCacheKey(baseKey);
  const baseCache = cacheKey === null ? null : { dir: deps.evalCacheDir, key: cacheKey };
  let base: ModelEvaluation | null = deps.baseEvaluations.get(baseKey) ?? (await retryOnConnectionLoss(() => findRecordedBaseEvaluation(prisma, baseKey)));
  // Figures alone are not enough: KL needs the base's cached log-distribution on this machine.
  if (base !== null && baseCache !== null && !(await hasFileRows(baseCache.dir, baseCache.key))) base = null;
  // The output's test stream is scored in one share per thread, one ORT thread each: within 4% of one session with every thread on an idle machine, and far faster under load (README, eval bench).
  const shares = Math.max(1, Math.min(settings.threads, pool.threads));
  const units = new Map<string, number>();
  const totalUnits = recipe.steps.length + shares + 1 + (base === null ? 1 : 0);
  const unit = (id: string) => (p: { fraction: number; message?: string }, label?: string) => {
    units.set(id, p.fraction);
    let sum = 0;
    for (const f of units.values()) sum += f;
    report({ fraction: Math.min(0.99, sum / totalUnits), message: label ?? p.message ?? id });
  };

  // The base evaluation runs beside the steps, on the pool's other thread.
  const baseTask =
    base === null
      ? track(
          pool.evaluate(
            { role: 'base', model: exactBuffer(baseBytes), tokenizerJson, settings, tasks, baseCache, baseModel: null },
            { cancel: flag, onProgress: (p) => unit('base')(p, `evaluating the base model: ${p.message ?? ''}`) },
          ),
        )
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
    const live = liveMetricWriter(prisma, run.id, attempt.workerId, step.id, `steps.${i}.`, (error) => deps.log.warn({ runId: run.id, err: error }, 'live metric points not recorded'));
    const out = unwrap(await track(pool.runTechnique({ model: current, techniqueId: technique, params, tokenizerJson, calibration: calibrationJob }, { cancel: flag, onProgress, onPoints: live.write })), flag, i);
    await live.settled();
    // Stored before anything can point at it, and before the buffer moves to the next thread.
    const stored: PutResult = await deps.store.put(new Uint8Array(out.model)).catch((error: unknown) => {
      // A full or failing disk: retried like any transient failure, with what failed named.
      throw new Error(`could not store the output of step ${i + 1} (${technique}) in the artifact store: ${errorMessage(error)}`, { cause: error });
    });
    if (out.calibration && !calibrationStored) calibrationStored = await storeCalibrationSet(store, out.calibration);
    outputs.push({ step, stored, parameters: out.parameters, decoderConfig: out.decoderConfig, startedAt, finishedAt: new Date() });
    figures.push({ index: i, runStepId: step.id, report: out.report, bytes: stored.bytes, parameters: out.parameters, series: out.series });
    stepReports.push({ index: i, technique, params, report: out.report });
    current = out.model;
  }
  reached(recipe.steps.length);
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');

  // The base goes first: its cached log-distribution is what the output is compared with.
  if (baseTask !== null) {
    const out = unwrap(await baseTask, flag);
    base = out.evaluation;
    deps.baseEvaluations.set(baseKey, base);
  }
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');
  // Every task gets its own copy of the output model (buffers move to the thread).
  const copies = Array.from({ length: shares }, () => current.slice(0));
  const streamStarted = performance.now();
  const streams = await Promise.all(
    copies.map(async (model, index) =>
      unwrap(
        await track(
          pool.evaluate(
            { role: 'final-stream', share: { index, of: shares }, model, tokenizerJson, settings, tasks, baseCache, baseModel: null },
            { cancel: flag, onProgress: (p) => unit(`final-stream${index}`)(p, `evaluating the output: ${p.message ?? ''}`) },
          ),
        ),
        flag,
      ),
    ),
  );
  const streamSeconds = (performance.now() - streamStarted) / 1000;
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');
  const finalOut = unwrap(
    await track(
      pool.evaluate(
        { role: 'final-rest', model: current, tokenizerJson, settings, tasks, baseCache, baseModel: exactBuffer(baseBytes), sensitivity: requested.sensitivity },
        { cancel: flag, onProgress: (p) => unit('final-rest')(p, `evaluating the output: ${p.message ?? ''}`) },
      ),
    ),
    flag,
  );
  if (flag.requested) throw new RunStoppedError(flag.reason ?? 'canceled');

  const parts = streams.map((o) => o.evaluation.stream).filter((p) => p !== undefined);
  const merged = parts.length > 0 ? mergePerplexity(parts) : null;
  const final: ModelEvaluation = {
    ...finalOut.evaluation,
    figures: { ...finalOut.evaluation.figures, ...(merged ? { ...streamFigures(merged), evalThroughput: merged.tokens / streamSeconds } : {}) },
  };
  const baseGeneration = finalOut.baseGeneration;
  const notes = [finalOut.note].filter((n): n is string => typeof n === 'string');
  const evaluation: RunEvaluationRecord = {
    suite,
    tasks: { output: final.tasks, base: base!.tasks },
    samples: (final.samples ?? []).map((s, i) => ({
      prompt: s.prompt,
      output: { greedy: s.greedy, sampled: s.sampled },
      base: baseGeneration?.samples?.[i] ? { greedy: baseGeneration.samples[i].greedy, sampled: baseGeneration.samples[i].sampled } : null,
    })),
    notes,
    ...(finalOut.sensitivity ? { sensitivity: finalOut.sensitivity } : {}),
  };
  const calibrationReport = calibration && calibrationStored && { ...calibration, sha256: calibrationStored.sha256 };
  const reportJson = JSON.stringify(
    { runId: run.id, attempt: attempt.attempt, steps: stepReports, evaluation: { suite, final, base, baseGeneration }, calibration: calibrationReport, notes },
    null,
    2,
  );
  const reportStored = await store.put(new TextEncoder().encode(reportJson));
  const metrics = runMetrics({ steps: figures, final: final.figures, base: { ...base!.figures, ...baseGeneration?.figures }, settings });
  if (metrics.length > MAX_METRICS_PER_RUN) throw new PermanentRunError(`the run produced ${metrics.length} metrics, more than the ${MAX_METRICS_PER_RUN} a run may record`);
  await recordSuccess(prisma, {
    run,
    workerId: attempt.workerId,
    jobId: attempt.jobId,
    outputs,
    metrics,
    report: reportStored,
    evaluation,
    calibration: calibrationStored,
    provenance: runProvenance({
      seed: run.seed,
      recipe: run.recipe,
      baseModel: { id: run.baseModel.id, sha256: run.baseModel.sha256, tokenizerSha256: tokenizerSha },
      workerThreads: pool.threads,
      evaluationThreads: settings.threads,
      calibrationSha256: calibrationStored?.sha256 ?? null,
      evaluationSuiteHash: suite.hash,
    }),
    message: notes.length ? `done; ${notes[0]}` : 'done',
  });
  deps.log.info({ runId: run.id, metrics: metrics.length, outputs: outputs.length }, 'run succeeded');
  return 'succeeded';
}
