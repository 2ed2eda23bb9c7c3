/**
 * Model import inside a Piscina thread: decode, validate, refuse non-finite weights,
 * check the tokenizer, count parameters. A model that needed external data files comes
 * back serialized with its weights inline, since the store holds single files.
 */
import { readDecoderConfig, toHfConfig } from '@distillery/nn';
import { serializeModel, type Model } from '@distillery/onnx';
import { checkModel, checkTokenizer, decodeForImport, ModelRejectedError } from './model-validation';
import { threadContext } from './thread-context';
import type { ImportTaskInput, ImportTaskOutput, ThreadOutcome } from './thread-messages';

/** The config.json of a decoder Distillery built or imported; null for other graphs (recipes are then checked by the worker). */
function decoderConfigOf(model: Model): Record<string, unknown> | null {
  try {
    const c = readDecoderConfig(model);
    return c ? (toHfConfig(c) as unknown as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function runImportTask(input: ImportTaskInput): ThreadOutcome<ImportTaskOutput> {
  const ctx = threadContext(input);
  try {
    ctx.onProgress(0, 'decoding');
    const { model, usesExternalData } = decodeForImport(new Uint8Array(input.model), input.sourceDir ?? undefined);
    ctx.onProgress(0.5, 'validating');
    const summary = checkModel(model);
    if (input.tokenizerJson !== null) checkTokenizer(input.tokenizerJson, 'tokenizerSha256');
    let inline: ArrayBuffer | null = null;
    if (usesExternalData) {
      const bytes = serializeModel(model).model;
      inline = new ArrayBuffer(bytes.byteLength);
      new Uint8Array(inline).set(bytes);
    }
    ctx.onProgress(1, 'validated');
    return { ok: true, value: { ...summary, inlineModel: inline, decoderConfig: decoderConfigOf(model) } };
  } catch (error) {
    if (error instanceof ModelRejectedError) return { ok: false, reason: 'invalid', message: error.message };
    // Decoders throw plain errors on malformed input too; those are the input's fault.
    return { ok: false, reason: 'invalid', message: `not a usable ONNX model: ${(error as Error).message ?? String(error)}` };
  } finally {
    ctx.close();
  }
}
