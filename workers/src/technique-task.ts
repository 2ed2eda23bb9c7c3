/**
 * One recipe step inside a Piscina thread: model bytes in, model bytes + report out.
 * Pure apart from the progress port and the cancellation flag; the thread never sees
 * the database or the artifact store.
 */
import { decodeModel, inspectModel, serializeModel, type Model } from '@distillery/onnx';
import { readDecoderConfig, readGpt2Config, toGpt2HfConfig, toHfConfig } from '@distillery/nn';
import { CanceledError, formatBytes, formatIssuePath, MAX_SERIES_POINTS, registry, shapeOfDecoder, type ModelShape } from '@distillery/techniques';
import { liveSeries, LIVE_SERIES_INTERVAL_MS } from './live-series';
import { thinSeries } from './series-thinning';
import { threadContext } from './thread-context';
import type { SeriesPoint, TechniqueTaskInput, TechniqueTaskOutput, ThreadOutcome } from './thread-messages';
import { heldOutTokens, trainingTokens } from './training-tokens';
import { unchangedReason } from './unchanged-model';
import { workerConfigFromEnv } from './worker-config';

/** The decoder shape of a decoded model, when it carries its config. */
function shapeOf(model: Model, bytes: number, parameters: number): ModelShape | null {
  const config = readDecoderConfig(model);
  return config ? shapeOfDecoder(config, parameters > 0 ? Math.min(4, Math.max(0.5, bytes / parameters)) : 4) : null;
}
import { sampleCalibrationSet } from './calibration-set';

export async function runTechniqueTask(input: TechniqueTaskInput): Promise<ThreadOutcome<TechniqueTaskOutput>> {
  const ctx = threadContext(input);
  try {
    const technique = registry.get(input.techniqueId);
    const params = technique.params.parse(input.params);
    const model = decodeModel(new Uint8Array(input.model));
    // The API checked the recipe against the stored config; the model itself is the final word.
    const shape = shapeOf(model, input.model.byteLength, inspectModel(model).parameterCount);
    const issues = shape && technique.check ? technique.check(params, shape) : [];
    if (issues.length) {
      return { ok: false, reason: 'invalid', message: `${input.techniqueId}: ${issues.map((i) => `${formatIssuePath(['params', ...i.path])}: ${i.message}`).join('; ')}` };
    }
    // Models imported without a stored config.json were not estimated by the API: the thread does it.
    const budgetMb = workerConfigFromEnv().memoryBudgetMb;
    const peak = shape && technique.estimate ? technique.estimate(params, shape).peakBytes : 0;
    if (peak > budgetMb * 2 ** 20) {
      return {
        ok: false,
        reason: 'invalid',
        message: `${input.techniqueId} needs an estimated ${formatBytes(peak)} at its peak on this model, more than the worker's memory budget of ${formatBytes(budgetMb * 2 ** 20)} (WORKER_MEMORY_BUDGET_MB)`,
      };
    }
    ctx.checkpoint();
    const series: SeriesPoint[] = [];
    const live = liveSeries((points) => ctx.onPoints(points), LIVE_SERIES_INTERVAL_MS);
    const tokenizerJson = input.tokenizerJson;
    // Data preparation reports every 16 documents and stops there when canceled.
    const preparing = (split: string) => (done: number, total: number) => {
      if (done % 16 === 0 || done === total) ctx.onProgress(0, `preparing data: tokenizing the ${split} split (${done}/${total} documents)`);
      ctx.checkpoint();
    };
    const calibration = input.calibration ? sampleCalibrationSet(input.calibration, tokenizerJson) : undefined;
    const techniqueCtx = {
      calibration: calibration?.set,
      ...ctx.technique,
      onMetric: (name: string, step: number, value: number) => {
        if (!Number.isFinite(value)) return;
        series.push({ name, step, value });
        live.add({ name, step, value });
      },
      // Lazy: only training techniques read it, and tokenizing the train split costs a second.
      get trainingTokens() {
        return tokenizerJson === null ? undefined : trainingTokens(tokenizerJson, preparing('train'));
      },
      get evalTokens() {
        return tokenizerJson === null ? undefined : heldOutTokens(tokenizerJson, preparing('validation'));
      },
    };
    const result = await technique.apply(model, params, techniqueCtx);
    live.flush();
    ctx.checkpoint();
    const unchanged = unchangedReason(model, result.model);
    if (unchanged) return { ok: false, reason: 'invalid', message: `${input.techniqueId}: ${unchanged}` };
    const bytes = serializeModel(result.model).model;
    // A fresh, exactly-sized buffer so it can be transferred whole.
    const out = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(out).set(bytes);
    const outConfig = readDecoderConfig(result.model);
    // A GPT-2 model's config.json is written from the config it carries (structured pruning rebuilds it with the new n_inner / n_layer).
    const gpt2 = outConfig ? undefined : readGpt2Config(result.model);
    return {
      ok: true,
      value: {
        model: out,
        report: result.report,
        parameters: inspectModel(result.model).parameterCount,
        series: thinSeries(series, MAX_SERIES_POINTS),
        decoderConfig: outConfig ? (toHfConfig(outConfig) as unknown as Record<string, unknown>) : gpt2 ? toGpt2HfConfig(gpt2) : null,
        calibration: calibration && { sha256: calibration.set.sha256!, bytes: calibration.bytes },
      },
    };
  } catch (error) {
    if (error instanceof CanceledError) return { ok: false, reason: 'canceled', message: error.message };
    const message = (error as Error).message ?? String(error);
    // Kit errors already start with the technique id; say it once.
    return { ok: false, reason: 'invalid', message: message.startsWith(`${input.techniqueId}: `) ? message : `${input.techniqueId}: ${message}` };
  } finally {
    ctx.close();
  }
}
