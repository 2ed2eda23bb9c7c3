/**
 * Evaluation of one model inside a Piscina thread: size, parameter count, and perplexity
 * on the bundled test split with the model's own tokenizer (sliding windows, Hugging
 * Face "Perplexity of fixed-length models"; implemented in packages/eval).
 */
import { CanceledError } from '@distillery/techniques';
import { openScorer, perplexity, type WindowScorer } from '@distillery/eval';
import { fromTokenizerJson, readDecoderConfig } from '@distillery/nn';
import { decodeModel, inspectModel } from '@distillery/onnx';
import { evaluationTokens } from './evaluation-tokens';
import { threadContext } from './thread-context';
import type { EvaluateTaskInput, EvaluateTaskOutput, ThreadOutcome } from './thread-messages';

/** Window for models that do not state their context (imports without our metadata). */
export const DEFAULT_WINDOW = 256;

export async function runEvaluateTask(input: EvaluateTaskInput): Promise<ThreadOutcome<EvaluateTaskOutput>> {
  const ctx = threadContext(input);
  let session: WindowScorer | undefined;
  try {
    const bytes = new Uint8Array(input.model);
    const model = decodeModel(bytes);
    const parameters = inspectModel(model).parameterCount;
    if (input.tokenizerJson === null) {
      return { ok: true, value: { bytes: bytes.byteLength, parameters, perplexity: null, note: 'perplexity skipped: the model has no tokenizer' } };
    }
    const tokenizer = fromTokenizerJson(JSON.parse(input.tokenizerJson));
    const tokens = evaluationTokens(tokenizer, input.settings.maxTokens);
    const context = input.settings.window ?? readDecoderConfig(model)?.maxPositions ?? DEFAULT_WINDOW;
    const window = Math.min(context, tokens.length);
    const stride = Math.min(input.settings.stride ?? window, window);
    ctx.checkpoint();
    // One ORT thread per Piscina thread: the pool already has one thread per core.
    session = await openScorer(model, { threads: 1 });
    const result = await perplexity(session, tokens, { window, stride, signal: ctx.signal, onProgress: ctx.onProgress });
    return {
      ok: true,
      value: { bytes: bytes.byteLength, parameters, perplexity: { ...result, window, stride } },
    };
  } catch (error) {
    if (error instanceof CanceledError) return { ok: false, reason: 'canceled', message: error.message };
    return { ok: false, reason: 'invalid', message: `evaluation: ${(error as Error).message ?? String(error)}` };
  } finally {
    await session?.release();
    ctx.close();
  }
}
