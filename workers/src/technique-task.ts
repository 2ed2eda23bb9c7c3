/**
 * One recipe step inside a Piscina thread: model bytes in, model bytes + report out.
 * Pure apart from the progress port and the cancellation flag; the thread never sees
 * the database or the artifact store.
 */
import { decodeModel, inspectModel, serializeModel } from '@distillery/onnx';
import { CanceledError, registry } from '@distillery/techniques';
import { threadContext } from './thread-context';
import type { SeriesPoint, TechniqueTaskInput, TechniqueTaskOutput, ThreadOutcome } from './thread-messages';
import { heldOutTokens, trainingTokens } from './training-tokens';
import { sampleCalibrationSet } from './calibration-set';

export async function runTechniqueTask(input: TechniqueTaskInput): Promise<ThreadOutcome<TechniqueTaskOutput>> {
  const ctx = threadContext(input);
  try {
    const technique = registry.get(input.techniqueId);
    const params = technique.params.parse(input.params);
    const model = decodeModel(new Uint8Array(input.model));
    ctx.checkpoint();
    const series: SeriesPoint[] = [];
    const tokenizerJson = input.tokenizerJson;
    const calibration = input.calibration ? sampleCalibrationSet(input.calibration, tokenizerJson) : undefined;
    const techniqueCtx = {
      calibration: calibration?.set,
      ...ctx.technique,
      onMetric: (name: string, step: number, value: number) => {
        if (Number.isFinite(value)) series.push({ name, step, value });
      },
      // Lazy: only training techniques read it, and tokenizing the train split costs a second.
      get trainingTokens() {
        return tokenizerJson === null ? undefined : trainingTokens(tokenizerJson);
      },
      get evalTokens() {
        return tokenizerJson === null ? undefined : heldOutTokens(tokenizerJson);
      },
    };
    const result = await technique.apply(model, params, techniqueCtx);
    ctx.checkpoint();
    const bytes = serializeModel(result.model).model;
    // A fresh, exactly-sized buffer so it can be transferred whole.
    const out = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(out).set(bytes);
    const calibrationOut = calibration && { sha256: calibration.set.sha256!, bytes: calibration.bytes };
    return { ok: true, value: { model: out, report: result.report, parameters: inspectModel(result.model).parameterCount, series, calibration: calibrationOut } };
  } catch (error) {
    if (error instanceof CanceledError) return { ok: false, reason: 'canceled', message: error.message };
    return { ok: false, reason: 'invalid', message: `${input.techniqueId}: ${(error as Error).message ?? String(error)}` };
  } finally {
    ctx.close();
  }
}
