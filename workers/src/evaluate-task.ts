/**
 * Evaluation of one model inside a Piscina thread, by the suite in packages/eval: size and
 * weight census, and with a tokenizer perplexity, bits per byte, cloze and multiple-choice
 * tasks on the bundled test split. The base model (role `base`) is scored on one ORT
 * thread beside the steps and leaves its log-distribution in the cache. The output model
 * is scored in shares of its test stream, one per thread (`final-stream`, compared with
 * the cached base rows: KL, top-1/top-5 agreement), then `final-rest` runs its tasks,
 * latency, peak memory and samples, followed by the base's latency and samples in the
 * same thread so the two are measured alike.
 */
import { splitBundledCorpora } from '@distillery/data';
import {
  cachedBase,
  evaluateGeneration,
  evaluateModel,
  fileRecorder,
  openFileRows,
  slidingWindows,
  suiteText,
  windowShares,
  type FileBaseRows,
  type FileRecorder,
  type SuiteText,
} from '@distillery/eval';
import { parseTokenizer, readDecoderConfig } from '@distillery/nn';
import { decodeModel } from '@distillery/onnx';
import { CanceledError, measureSensitivity, selectLinearLayers, type SensitivityRow } from '@distillery/techniques';
import { sampleCalibrationSet } from './calibration-set';
import { evaluationTokens } from './evaluation-tokens';
import { threadContext } from './thread-context';
import type { EvaluateTaskInput, EvaluateTaskOutput, ThreadOutcome } from './thread-messages';

/** Window for models that do not state their context (imports without our metadata). */
export const DEFAULT_WINDOW = 256;

export async function runEvaluateTask(input: EvaluateTaskInput): Promise<ThreadOutcome<EvaluateTaskOutput>> {
  const ctx = threadContext(input);
  let rows: FileBaseRows | null = null;
  let recorder: FileRecorder | undefined;
  try {
    const bytes = new Uint8Array(input.model);
    const model = decodeModel(bytes);
    const { settings } = input;
    const maxPositions = readDecoderConfig(model)?.maxPositions;
    const context = settings.window ?? maxPositions ?? DEFAULT_WINDOW;
    let text: SuiteText | null = null;
    let window = context;
    let stride = Math.min(settings.stride ?? window, window);
    if (input.tokenizerJson !== null) {
      const tokenizer = parseTokenizer(input.tokenizerJson);
      ctx.onProgress(0, 'preparing data: tokenizing the test split');
      const tokens = evaluationTokens(tokenizer, settings.maxTokens, () => ctx.checkpoint());
      window = Math.min(context, tokens.length);
      stride = Math.min(settings.stride ?? window, window);
      const heldOut = splitBundledCorpora().test.map((d) => d.text);
      text = suiteText(tokenizer, settings, { tokens, heldOut, tasks: input.tasks, window });
    }
    const note = text === null ? 'perplexity skipped: the model has no tokenizer (and with it divergence, tasks and samples)' : undefined;
    ctx.checkpoint();
    const common = { model, bytes: bytes.byteLength, settings, window, stride, text, maxPositions, signal: ctx.signal };

    if (input.role === 'base') {
      if (text && input.baseCache && (await openFileRows(input.baseCache.dir, input.baseCache.key)) === null) {
        recorder = fileRecorder(input.baseCache.dir, input.baseCache.key);
      }
      const evaluation = await evaluateModel({ ...common, threads: 1, record: recorder?.record, onProgress: ctx.onProgress });
      await recorder?.commit();
      recorder = undefined;
      return { ok: true, value: { evaluation, note } };
    }

    if (input.role === 'final-stream') {
      if (!input.share) throw new Error('a final-stream evaluation needs its share');
      if (text && input.baseCache) {
        rows = await openFileRows(input.baseCache.dir, input.baseCache.key);
        if (!rows) throw new Error(`the base model's cached log-probabilities (${input.baseCache.key}) are missing from ${input.baseCache.dir}`);
      }
      const windows = text ? slidingWindows(text.tokens.length, window, stride).length : 0;
      const share = windowShares(windows, input.share.of)[input.share.index]!;
      const evaluation = await evaluateModel({ ...common, threads: 1, stream: { share }, tasks: false, base: rows ? cachedBase(rows) : undefined, onProgress: ctx.onProgress });
      return { ok: true, value: { evaluation, note } };
    }

    const baseModel = input.baseModel ? decodeModel(new Uint8Array(input.baseModel)) : null;
    const threads = settings.threads;
    // Shares of this task's progress: evaluation, the base's generation, then sensitivity.
    const sens = input.sensitivity;
    const [evalEnd, baseEnd] = sens ? [0.5, 0.6] : [0.8, 1];
    const evaluation = await evaluateModel({ ...common, threads, stream: false, latency: true, samples: true, onProgress: (f, m) => ctx.onProgress(evalEnd * f, m) });
    const baseGeneration = baseModel
      ? await evaluateGeneration(baseModel, { settings, threads, text, latency: true, samples: true, maxPositions, signal: ctx.signal, onProgress: (f, m) => ctx.onProgress(evalEnd + (baseEnd - evalEnd) * f, `base model: ${m ?? 'latency'}`) })
      : undefined;
    let sensitivity: SensitivityRow[] | undefined;
    let sensitivityNote: string | undefined;
    // An output whose linear layers are all quantized already has no float weight to probe: say so, keep the run.
    if (sens && selectLinearLayers(model).selected.length === 0) {
      sensitivity = [];
      sensitivityNote = 'sensitivity skipped: the output model has no float linear layer to probe (all are quantized or factorized)';
    } else if (sens) {
      if (input.tokenizerJson === null) throw new Error("recipe.eval.sensitivity needs the model's tokenizer, and the model has none");
      ctx.onProgress(baseEnd, 'sensitivity: sampling the validation split');
      // The calibration sampler, on the bundled validation split (seed 0).
      const { set } = sampleCalibrationSet({ settings: { source: 'bundled:validation', sequences: sens.sequences, length: sens.length, seed: 0 } }, input.tokenizerJson);
      ctx.checkpoint();
      const table = await measureSensitivity(model, set.sequences, {
        probes: [...(sens.bits ?? []).map((bits) => ({ bits })), ...(sens.sparsity ?? []).map((sparsity) => ({ sparsity }))],
        symmetric: true,
        signal: ctx.signal,
        technique: 'recipe.eval.sensitivity',
        onProgress: (f, m) => ctx.onProgress(baseEnd + (1 - baseEnd) * f, `sensitivity: ${m ?? ''}`),
      });
      sensitivity = table.rows;
    }
    return { ok: true, value: { evaluation, baseGeneration, note: [note, sensitivityNote].filter(Boolean).join('; ') || undefined, sensitivity } };
  } catch (error) {
    await recorder?.abort();
    if (error instanceof CanceledError) return { ok: false, reason: 'canceled', message: error.message };
    return { ok: false, reason: 'invalid', message: `evaluation: ${(error as Error).message ?? String(error)}` };
  } finally {
    await rows?.close();
    ctx.close();
  }
}
