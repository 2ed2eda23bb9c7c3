export { startWorker, WORKER_TASKS, type BlobGcSettings, type RunningWorker, type WorkerSettings, type WorkerTask } from './start-worker';
export { importModel, IMPORT_MODEL_TASK, type ImportAttempt, type ImportModelDeps, type ImportOutcome } from './import-model';
export { checkModel, checkOnnxFile, checkTokenizer, ModelRejectedError, OnnxFileRejectedError, type ModelSummary } from './model-validation';
export { workerConfigFromEnv, type WorkerConfig } from './worker-config';
export {
  executeRun,
  DEFAULT_EVAL_MAX_TOKENS,
  EXECUTE_RUN_TASK,
  RetryRunError,
  RunTakenOverError,
  type AttemptOutcome,
  type ExecuteRunDeps,
  type RunAttempt,
} from './execute-run';
export { sweepStaleRuns, type SweptRun } from './stale-run-sweep';
export { beat, startHeartbeat, type BeatResult, type Heartbeat } from './run-heartbeat';
export { createThreadPool, type TaskHooks, type ThreadPool, type ThreadPoolOptions } from './thread-pool';
export { ActiveAttempts, CancelFlag, type StopReason } from './cancel-flag';
export { throttleProgress, type Progress, type ProgressThrottle } from './progress-throttle';
export { runMetrics, type MetricInput, type RunFigures, type StepFigures } from './run-metrics';
export { evaluationTokens } from './evaluation-tokens';
export { BaseEvaluationCache, baseEvaluationKey, findRecordedBaseEvaluation, tokenizerShaOf, type BaseEvaluationKey } from './base-evaluation';
export { DEFAULT_WINDOW } from './evaluate-task';
export type * from './thread-messages';
