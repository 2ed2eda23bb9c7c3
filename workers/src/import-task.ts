/**
 * Model import inside a Piscina thread: the format is read from the bytes; safetensors and
 * llama2.c are converted to our ONNX decoder first (import-conversion.ts). Then decode,
 * validate, refuse non-finite weights, check the tokenizer, count parameters, and report
 * {format, architecture, parameters, dtypes, tokenizer kind, warnings}. A converted model
 * is written to the worker's outFile and checked without reading its weights back; an ONNX
 * upload is checked from the worker's scratch copy with its weights left in the file, and
 * one with external data files is written into outFile as one file (the store holds single
 * files), a weight at a time.
 */
import { tokenizerReport, type ImportReport } from '@distillery/formats';
import { readDecoderConfig, toHfConfig } from '@distillery/nn';
import { inspectModel, type Model } from '@distillery/onnx';
import { checkOnnxUpload, convertUpload, type ConvertedUpload } from './import-conversion';
import { checkTokenizer, ModelRejectedError, type ModelSummary } from './model-validation';
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

function onnxReport(model: Model, tokenizerJson: string | null): ImportReport {
  const inspection = inspectModel(model);
  const dtypes: Record<string, number> = {};
  for (const t of model.graph.initializers) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  const config = readDecoderConfig(model);
  let tokenizerKind: string | null = null;
  const warnings: string[] = [];
  if (tokenizerJson !== null) {
    const t = tokenizerReport(tokenizerJson, 'tokenizer.json', {}, {}, config?.vocabSize);
    tokenizerKind = t.kind;
    warnings.push(...t.warnings);
  }
  return { format: 'onnx', architecture: config ? config.arch : 'onnx graph', parameters: inspection.parameterCount, dtypes, tokenizerKind, warnings };
}

export async function runImportTask(input: ImportTaskInput): Promise<ThreadOutcome<ImportTaskOutput>> {
  const ctx = threadContext(input);
  try {
    const format = input.format;
    ctx.onProgress(0, `reading ${format}`);
    let upload: ConvertedUpload | null;
    try {
      upload = await convertUpload(format, { sourceDir: input.sourceDir, modelFile: input.modelFile, tokenizerJson: input.tokenizerJson, onProgress: ctx.onProgress }, input.outFile);
    } catch (error) {
      if (error instanceof ModelRejectedError) throw error;
      throw new ModelRejectedError(`${format}: ${(error as Error).message ?? String(error)}`);
    }
    const converted = upload?.converted ?? null;
    let model: Model;
    let summary: ModelSummary;
    let modelFile: string | null = upload?.file ?? null;
    if (upload !== null) {
      // The graph as written, its weights placeholders: convertUpload checked them as they were written.
      model = upload.converted.onnx.model;
      summary = upload.summary;
    } else {
      // The worker's scratch copy of the upload: its graph is read with the weights left in the file.
      if (input.modelFile === null) throw new Error('an ONNX upload is checked from a file: the worker passes its scratch copy as modelFile');
      ctx.onProgress(0, 'reading the graph');
      const checked = await checkOnnxUpload(format, { modelFile: input.modelFile, sourceDir: input.sourceDir }, input.outFile);
      model = checked.model;
      summary = checked.summary;
      if (checked.file !== null) modelFile = checked.file;
    }
    const tokenizerJson = converted?.tokenizerJson ?? input.tokenizerJson;
    if (tokenizerJson !== null) checkTokenizer(tokenizerJson, converted?.tokenizerJson ? 'tokenizer' : 'tokenizerSha256');
    const report = converted?.report ?? onnxReport(model, input.tokenizerJson);
    ctx.onProgress(1, 'validated');
    return {
      ok: true,
      value: {
        ...summary,
        modelFile,
        decoderConfig: converted ? (converted.hfConfig as unknown as Record<string, unknown>) : decoderConfigOf(model),
        report,
        // A tokenizer the conversion made or found (llama2.c's tokenizer.bin, a folder's tokenizer.json), for the worker to store.
        tokenizerJson: converted?.tokenizerJson ?? null,
      },
    };
  } catch (error) {
    if (error instanceof ModelRejectedError) return { ok: false, reason: 'invalid', message: error.message };
    // Decoders throw plain errors on malformed input too; those are the input's fault.
    return { ok: false, reason: 'invalid', message: `not a usable ONNX model: ${(error as Error).message ?? String(error)}` };
  } finally {
    ctx.close();
  }
}
