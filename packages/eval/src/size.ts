/**
 * Model size as stored: the .onnx file plus every external-data file it references,
 * and the parameter count as inspection counts it.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeModel, inspectModel, readModel, resolveExternalLocation, type Model } from '@distillery/onnx';

export interface FileSize {
  modelBytes: number;
  externalBytes: number;
  totalBytes: number;
  /** External-data files, relative to the model's folder. */
  externalFiles: string[];
}

/** External data locations named by a model file, without reading their bytes. */
export function externalLocations(modelBytes: Uint8Array): string[] {
  const locations = new Set<string>();
  // Zero-filled stand-ins satisfy the decoder's length check; large ones are lazily
  // allocated pages, so nothing the size of the weights is actually read or touched.
  decodeModel(modelBytes, (ref) => {
    locations.add(ref.location);
    return new Uint8Array(ref.length ?? 0);
  });
  return [...locations].sort();
}

export async function fileSize(file: string): Promise<FileSize> {
  const bytes = await readFile(file);
  const dir = path.dirname(file);
  const externalFiles = externalLocations(bytes);
  let externalBytes = 0;
  for (const loc of externalFiles) externalBytes += (await stat(resolveExternalLocation(dir, loc))).size;
  return { modelBytes: bytes.byteLength, externalBytes, totalBytes: bytes.byteLength + externalBytes, externalFiles };
}

export function parameterCount(model: Model): number {
  return inspectModel(model).parameterCount;
}

export interface ModelSize extends FileSize {
  parameters: number;
  /** Bytes of initializer data, however it is stored. */
  weightBytes: number;
}

export async function modelSize(file: string): Promise<ModelSize> {
  const size = await fileSize(file);
  const inspection = inspectModel(await readModel(file));
  return { ...size, parameters: inspection.parameterCount, weightBytes: inspection.totalBytes };
}
