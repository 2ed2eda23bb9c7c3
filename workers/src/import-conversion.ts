/**
 * Non-ONNX uploads into our model layout, inside the import thread: the format is read from
 * the bytes, a Hugging Face safetensors folder is converted from the import's folder
 * (config.json and shards live there), a llama2.c checkpoint (with the tokenizer.bin beside
 * it on server-side imports) and a GGUF file from the worker's scratch copy of the upload,
 * read one tensor at a time. The ONNX model is written to a scratch file one weight at a time
 * and read back as the bytes to store, so the thread holds the serialized model once, not
 * the upload, the weights, the model and its encoding.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { convertGguf, convertHfFolder, convertLlama2c, FormatError, GgufFormatError, LLAMA2C_TOKENIZER_FILE, tokenizerReport, type ConvertedModel, type FileFormat } from '@distillery/formats';
import { writeDeferredModel } from '@distillery/onnx';
import { ModelRejectedError } from './model-validation';

/** A conversion: what it made, and the ONNX file's bytes in an ArrayBuffer of their own (to hand to the worker without a copy). */
export interface ConvertedUpload {
  converted: ConvertedModel;
  onnx: ArrayBuffer;
}

async function readWhole(file: string): Promise<ArrayBuffer> {
  const handle = await open(file, 'r');
  try {
    const out = new ArrayBuffer((await handle.stat()).size);
    const bytes = new Uint8Array(out);
    for (let done = 0; done < bytes.byteLength; ) {
      const n = (await handle.read(bytes, done, bytes.byteLength - done, done)).bytesRead;
      if (n === 0) throw new Error(`${file} ended after ${done} of ${bytes.byteLength} bytes`);
      done += n;
    }
    return out;
  } finally {
    await handle.close();
  }
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

/** The converted model and its ONNX bytes for a safetensors, llama2.c or GGUF upload; null when the bytes are ONNX (or unknown: ONNX decoding then says why). */
export async function convertUpload(format: FileFormat, input: UploadInput): Promise<ConvertedUpload | null> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-'));
  try {
    const converted = await convertFormat(format, input);
    if (converted === null) return null;
    // The sources read the upload's files now, one weight at a time.
    const file = path.join(scratch, 'model.onnx');
    await writeDeferredModel(converted.onnx, file);
    return { converted, onnx: await readWhole(file) };
  } catch (error) {
    if (error instanceof FormatError) throw new ModelRejectedError(`${format}: ${error.message}`);
    // Name the upload, not its scratch copy.
    if (error instanceof GgufFormatError) throw new ModelRejectedError(`GGUF upload: ${error.field}: ${error.problem}`);
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
