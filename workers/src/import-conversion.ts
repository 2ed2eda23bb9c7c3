/**
 * Non-ONNX uploads into our model layout, inside the import thread: the format is read from
 * the bytes, a Hugging Face safetensors folder is converted from the import's folder
 * (config.json and shards live there), a llama2.c checkpoint (with the tokenizer.bin beside
 * it on server-side imports) and a GGUF file from the worker's scratch copy of the upload,
 * read one tensor at a time. The ONNX model is written to the file the worker names, one
 * weight at a time, each checked finite as it passes; the graph is validated without its
 * weights and the worker streams the file into the store, so no one holds the serialized
 * model: peak memory is the largest tensor or two, not the model. An ONNX upload needs no
 * conversion: it is checked from its graph with its weights left in the file (checkOnnxUpload).
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { convertGguf, convertHfFolder, convertLlama2c, FormatError, GgufFormatError, LLAMA2C_TOKENIZER_FILE, tokenizerReport, type ConvertedModel, type FileFormat } from '@distillery/formats';
import { writeDeferredModel, type Model } from '@distillery/onnx';
import { checkDeferredModel, checkOnnxFile, finiteSources, ModelRejectedError, OnnxFileRejectedError, type ModelSummary } from './model-validation';

/** A conversion: what it made (its graph, weights as placeholders), the ONNX file it was written to, and the checked model's summary. */
export interface ConvertedUpload {
  converted: ConvertedModel;
  file: string;
  bytes: number;
  summary: ModelSummary;
}

export interface UploadInput {
  sourceDir: string | null;
  /** The upload as a file, for GGUF and llama2.c. */
  modelFile: string | null;
  tokenizerJson: string | null;
  onProgress: (fraction: number, message: string) => void;
}

function fileOf(format: FileFormat, input: UploadInput): string {
  // The worker always copies these formats to scratch; bytes alone would mean holding the whole upload.
  if (input.modelFile === null) throw new Error(`a ${format} upload is converted from a file: the worker passes its scratch copy as modelFile`);
  return input.modelFile;
}

async function convertFormat(format: FileFormat, input: UploadInput): Promise<ConvertedModel | null> {
  switch (format) {
    case 'safetensors':
    case 'safetensors-index':
      if (input.sourceDir === null) {
        throw new ModelRejectedError('a safetensors file needs the config.json of its folder: upload config.json too and name it with configSha256 in importModel (a sharded folder: the index as sha256 and its shards in files), or import the folder with importModelFromPath from under the import root');
      }
      return await convertHfFolder(input.sourceDir, { onProgress: (f, tensor) => input.onProgress(0.1 + 0.6 * f, `converting ${tensor}`) });
    case 'llama2c': {
      const given = input.tokenizerJson !== null;
      const converted = await convertLlama2c(fileOf(format, input), {
        tokenizerFile: given || input.sourceDir === null ? null : path.join(input.sourceDir, LLAMA2C_TOKENIZER_FILE),
        onProgress: (f) => input.onProgress(0.1 + 0.6 * f, 'converting'),
      });
      if (!given) return converted;
      // A tokenizer.json uploaded with the checkpoint replaces the missing tokenizer.bin.
      const t = tokenizerReport(input.tokenizerJson as string, 'tokenizer.json', {}, {}, converted.config.vocabSize);
      const warnings = converted.report.warnings.filter((w) => !w.startsWith(`no ${LLAMA2C_TOKENIZER_FILE}`)).concat(t.warnings);
      return { ...converted, tokenizerJson: input.tokenizerJson, report: { ...converted.report, tokenizerKind: t.kind, warnings } };
    }
    case 'gguf':
      return await convertGguf(fileOf(format, input), (f, tensor) => input.onProgress(0.1 + 0.6 * f, `converting ${tensor}`));
    default:
      return null;
  }
}

/**
 * Converts a safetensors, llama2.c or GGUF upload into the ONNX file `outFile` and checks it
 * like any import (checkModel's checks, weights as they are written); a failed conversion
 * or check leaves no file. Null when the bytes are ONNX (or unknown: ONNX decoding then says why).
 */
export async function convertUpload(format: FileFormat, input: UploadInput, outFile: string): Promise<ConvertedUpload | null> {
  try {
    const converted = await convertFormat(format, input);
    if (converted === null) return null;
    // The graph first: a bad one fails before any weight is read.
    const summary = checkDeferredModel(converted.onnx);
    // The sources read the upload's files now, one weight at a time, and each is dropped once written.
    const bytes = await writeDeferredModel(finiteSources(converted.onnx), outFile);
    const size = (await stat(outFile)).size;
    if (size !== bytes) throw new Error(`${path.basename(outFile)} holds ${size} bytes after writing ${bytes}`);
    return { converted, file: outFile, bytes, summary };
  } catch (error) {
    await rm(outFile, { force: true });
    if (error instanceof FormatError) throw new ModelRejectedError(`${format}: ${error.message}`);
    // Name the upload, not its scratch copy.
    if (error instanceof GgufFormatError) throw new ModelRejectedError(`GGUF upload: ${error.field}: ${error.problem}`);
    throw error;
  }
}

/** A checked ONNX upload: its graph (weights as placeholders), summary, and the file to store instead of the upload, if any. */
export interface CheckedOnnxUpload {
  model: Model;
  summary: ModelSummary;
  /** `outFile` when the upload's external data was written into it; null when the upload is stored as it is. */
  file: string | null;
}

/**
 * Checks an ONNX upload (or bytes of no known format, tried as ONNX) from its file without
 * holding its weights (checkOnnxFile). External data, read from `sourceDir` only, is written
 * with the model into `outFile` a weight at a time, since the store holds single files.
 */
export async function checkOnnxUpload(format: FileFormat, input: { modelFile: string; sourceDir: string | null }, outFile: string): Promise<CheckedOnnxUpload> {
  let checked;
  try {
    checked = await checkOnnxFile(input.modelFile, { dir: input.sourceDir ?? undefined });
  } catch (error) {
    // Bytes of no known format were tried as ONNX: say that they are neither.
    if (format === 'unknown' && error instanceof OnnxFileRejectedError) {
      throw new ModelRejectedError(`not a usable ONNX model: not an ONNX model (nor any other format known by its first bytes): ${error.problem}`);
    }
    throw error;
  }
  if (!checked.model.usesExternalData) return { model: checked.model.model, summary: checked.summary, file: null };
  try {
    await writeDeferredModel(checked.model, outFile);
  } catch (error) {
    throw new ModelRejectedError(`not a usable ONNX model: writing its external data inline: ${(error as Error).message}`);
  }
  return { model: checked.model.model, summary: checked.summary, file: outFile };
}
