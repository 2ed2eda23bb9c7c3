/**
 * Model import inside a Piscina thread: convert other formats (detected from the bytes)
 * to our ONNX model folder, decode, validate, refuse non-finite weights, check the
 * tokenizer, count parameters, report. A model that needed external data files, or was
 * converted, comes back serialized with its weights inline, since the store holds single
 * files; a converted format's own vocabulary comes back as tokenizer.json.
 */
import { readDecoderConfig, toHfConfig } from '@distillery/nn';
import { serializeModel, type Model } from '@distillery/onnx';
import { checkModel, checkTokenizer, decodeForImport, ModelRejectedError } from './model-validation';
import { convertUpload } from './import-conversion';
import { threadContext } from './thread-context';
import type { ImportReport, ImportTaskInput, ImportTaskOutput, ThreadOutcome } from './thread-messages';

/** The config.json of a decoder Distillery built or imported; null for other graphs (recipes are then checked by the worker). */
function decoderConfigOf(model: Model): Record<string, unknown> | null {
  try {
    const c = readDecoderConfig(model);
    return c ? (toHfConfig(c) as unknown as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function onnxReport(model: Model, parameters: number, decoderConfig: Record<string, unknown> | null, tokenizerJson: string | null): ImportReport {
  const dtypes: Record<string, number> = {};
  for (const t of model.graph.initializers) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  return {
    format: 'onnx',
    architecture: decoderConfig ? 'llama' : 'onnx graph',
    parameters,
    dtypes,
    tokenizerKind: tokenizerJson === null ? 'none' : 'uploaded tokenizer.json',
    warnings: [],
  };
}

const ownBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
};

export async function runImportTask(input: ImportTaskInput): Promise<ThreadOutcome<ImportTaskOutput>> {
  const ctx = threadContext(input);
  try {
    ctx.onProgress(0, 'detecting the format');
    const converted = await convertUpload(new Uint8Array(input.model));
    ctx.onProgress(0.3, 'decoding');
    const bytes = converted?.model ?? new Uint8Array(input.model);
    const { model, usesExternalData } = decodeForImport(bytes, input.sourceDir ?? undefined);
    ctx.onProgress(0.6, 'validating');
    const summary = checkModel(model);
    if (input.tokenizerJson !== null) checkTokenizer(input.tokenizerJson, 'tokenizerSha256');
    let inline: ArrayBuffer | null = null;
    if (converted) inline = ownBuffer(converted.model);
    else if (usesExternalData) inline = ownBuffer(serializeModel(model).model);
    const decoderConfig = decoderConfigOf(model);
    const report = converted?.report ?? onnxReport(model, summary.parameterCount, decoderConfig, input.tokenizerJson);
    // A tokenizer uploaded with the model wins over the one a format embeds.
    const tokenizerJson = input.tokenizerJson === null ? (converted?.tokenizerJson ?? null) : null;
    if (converted && input.tokenizerJson !== null) report.warnings.push('the uploaded tokenizer.json is used instead of the vocabulary embedded in the file');
    ctx.onProgress(1, 'validated');
    return { ok: true, value: { ...summary, inlineModel: inline, decoderConfig, tokenizerJson, report } };
  } catch (error) {
    if (error instanceof ModelRejectedError) return { ok: false, reason: 'invalid', message: error.message };
    // Decoders throw plain errors on malformed input too; those are the input's fault.
    return { ok: false, reason: 'invalid', message: `not a usable ONNX model: ${(error as Error).message ?? String(error)}` };
  } finally {
    ctx.close();
  }
}
