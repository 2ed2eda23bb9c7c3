/**
 * Uploaded bytes in a format other than ONNX become one of our model folders before
 * validation: the format is detected from the bytes (magic numbers), the converter of
 * that format writes the folder in a scratch directory, and the ONNX file, tokenizer.json
 * and the converter's report come back. ONNX (and bytes no detector recognises, which
 * the ONNX decoder then rejects with its own reason) return null.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { detectFormat, GgufFormatError, importGguf, type ModelImportReport } from '@distillery/formats';
import { ModelRejectedError } from './model-validation';
import type { ImportReport } from './thread-messages';

export interface ConvertedUpload {
  model: Uint8Array;
  tokenizerJson: string;
  report: ImportReport;
}

export async function convertUpload(bytes: Uint8Array): Promise<ConvertedUpload | null> {
  const detected = detectFormat(bytes.subarray(0, 64), bytes.length);
  if (detected.format === 'onnx' || detected.format === 'unknown') return null;
  if (detected.format !== 'gguf') throw new ModelRejectedError(`the upload is ${detected.format} (${detected.reason}), which this worker cannot import yet`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-'));
  try {
    const file = path.join(dir, 'upload.gguf');
    await writeFile(file, bytes);
    let report: ModelImportReport;
    try {
      report = await importGguf(file, path.join(dir, 'folder'));
    } catch (error) {
      // Name the upload, not the scratch file.
      if (error instanceof GgufFormatError) throw new ModelRejectedError(`GGUF upload: ${error.field}: ${error.problem}`);
      throw new ModelRejectedError(`GGUF upload: ${(error as Error).message}`);
    }
    return {
      model: new Uint8Array(await readFile(path.join(dir, 'folder', 'onnx', 'model.onnx'))),
      tokenizerJson: await readFile(path.join(dir, 'folder', 'tokenizer.json'), 'utf8'),
      report: {
        format: report.format,
        architecture: report.architecture,
        parameters: report.parameters,
        dtypes: report.dtypes,
        tokenizerKind: report.tokenizerKind,
        warnings: report.warnings,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
