/**
 * Non-ONNX uploads into our model layout, inside the import thread: the format is read from
 * the bytes, a Hugging Face safetensors folder is converted from the import's folder
 * (config.json and shards live there), a llama2.c checkpoint from its bytes (with the
 * tokenizer.bin beside it on server-side imports), a GGUF file through a scratch folder
 * written by its importer.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bufferSource, convertHfFolder, convertLlama2c, FormatError, GgufFormatError, importGguf, LLAMA2C_TOKENIZER_FILE, tokenizerReport, type ConvertedModel, type FileFormat } from '@distillery/formats';
import { readModel } from '@distillery/onnx';
import type { HfLlamaConfig } from '@distillery/nn';
import { ModelRejectedError } from './model-validation';

async function convertGguf(bytes: Uint8Array): Promise<ConvertedModel> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-'));
  try {
    const file = path.join(dir, 'upload.gguf');
    await writeFile(file, bytes);
    const folder = path.join(dir, 'folder');
    let imported;
    try {
      imported = await importGguf(file, folder);
    } catch (error) {
      // Name the upload, not the scratch file.
      if (error instanceof GgufFormatError) throw new ModelRejectedError(`GGUF upload: ${error.field}: ${error.problem}`);
      throw error;
    }
    return {
      model: await readModel(path.join(folder, 'onnx', 'model.onnx')),
      config: imported.config,
      hfConfig: JSON.parse(await readFile(path.join(folder, 'config.json'), 'utf8')) as HfLlamaConfig,
      tokenizerJson: await readFile(path.join(folder, 'tokenizer.json'), 'utf8'),
      tokenizerConfigJson: await readFile(path.join(folder, 'tokenizer_config.json'), 'utf8'),
      report: imported.report,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The converted model for a safetensors or llama2.c upload; null when the bytes are ONNX (or unknown: ONNX decoding then says why). */
export async function convertUpload(
  format: FileFormat,
  bytes: Uint8Array,
  input: { sourceDir: string | null; tokenizerJson: string | null; onProgress: (fraction: number, message: string) => void },
): Promise<ConvertedModel | null> {
  try {
    switch (format) {
      case 'safetensors':
      case 'safetensors-index':
        if (input.sourceDir === null) {
          throw new ModelRejectedError('a safetensors file needs the config.json of its folder: upload config.json too and name it with configSha256 in importModel, or import the folder (sharded ones too) with importModelFromPath from under the import root');
        }
        return await convertHfFolder(input.sourceDir, { onProgress: (f, tensor) => input.onProgress(0.1 + 0.6 * f, `converting ${tensor}`) });
      case 'llama2c': {
        const given = input.tokenizerJson !== null;
        const converted = await convertLlama2c(bufferSource(bytes, 'model.bin'), {
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
        return await convertGguf(bytes);
      default:
        return null;
    }
  } catch (error) {
    if (error instanceof FormatError) throw new ModelRejectedError(`${format}: ${error.message}`);
    throw error;
  }
}
