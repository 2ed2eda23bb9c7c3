/**
 * Reading and writing ONNX files, with weights inline or in an external-data file
 * beside the model (the ONNX external data convention). External locations must stay
 * inside the model's folder: an absolute path or `..` is refused, since a crafted
 * model could otherwise read any file the server can.
 */
import { closeSync, openSync, readSync, fstatSync, realpathSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeModel, encodeModel, type ExternalRef } from './proto-codec';
import type { Model, Tensor } from './model';

export function resolveExternalLocation(modelDir: string, location: string): string {
  if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
    throw new Error(`external data location "${location}" escapes the model's folder (absolute path or "..")`);
  }
  const full = path.resolve(modelDir, location);
  const rel = path.relative(path.resolve(modelDir), full);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`external data location "${location}" escapes the model's folder`);
  }
  return full;
}

/**
 * The real path of an external data file under modelDir: the location must stay inside the
 * folder, and so must a symbolic link's target (it could otherwise point anywhere).
 */
export function externalDataFile(modelDir: string, location: string, tensorName: string): string {
  const file = resolveExternalLocation(modelDir, location);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    throw new Error(`tensor "${tensorName}": external data file "${location}" not found next to the model`);
  }
  const root = realpathSync(modelDir);
  if (!real.startsWith(root + path.sep)) {
    throw new Error(`external data location "${location}" escapes the model's folder (symbolic link to "${real}")`);
  }
  return real;
}

/** Decode model bytes; external data is read from files under modelDir. */
export function decodeModelFromDir(bytes: Uint8Array, modelDir: string): Model {
  const fds = new Map<string, number>();
  try {
    return decodeModel(bytes, (ref: ExternalRef, name) => {
      const file = resolveExternalLocation(modelDir, ref.location);
      let fd = fds.get(file);
      if (fd === undefined) {
        fd = openSync(externalDataFile(modelDir, ref.location, name), 'r');
        fds.set(file, fd);
      }
      const size = fstatSync(fd).size;
      const length = ref.length ?? size - ref.offset;
      if (ref.offset < 0 || ref.offset + length > size) {
        throw new Error(`tensor "${name}": external data range ${ref.offset}+${length} is outside "${ref.location}" (${size} bytes)`);
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) done += readSync(fd, out, done, length - done, ref.offset + done);
      return out;
    });
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
}

export async function readModel(file: string): Promise<Model> {
  const bytes = await readFile(file);
  try {
    return decodeModelFromDir(bytes, path.dirname(file));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
  }
}

export interface WriteOptions {
  /** Put initializers of at least `threshold` bytes (default 1024) into `<model>.data` beside the model. */
  externalData?: boolean | { location?: string; threshold?: number };
}

/** Serialize to bytes; with external data, returns the side file's bytes too. */
export function serializeModel(
  model: Model,
  opts: { externalLocation?: string; threshold?: number } = {},
): { model: Uint8Array; external?: { location: string; bytes: Uint8Array } } {
  if (!opts.externalLocation) return { model: encodeModel(model) };
  const location = opts.externalLocation;
  const threshold = opts.threshold ?? 1024;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const bytes = encodeModel(model, (t: Tensor) => {
    if (t.raw.byteLength < threshold) return null;
    // 4 KiB alignment lets ORT memory-map tensors directly.
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    const ref = { location, offset, length: t.raw.byteLength };
    chunks.push(t.raw);
    offset += t.raw.byteLength;
    return ref;
  });
  return { model: bytes, external: { location, bytes: Buffer.concat(chunks) } };
}

export async function writeModel(model: Model, file: string, opts: WriteOptions = {}): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const ext = opts.externalData;
  if (!ext) {
    await writeFile(file, serializeModel(model).model);
    return;
  }
  const cfg = ext === true ? {} : ext;
  const location = cfg.location ?? `${path.basename(file)}.data`;
  resolveExternalLocation(path.dirname(file), location);
  const out = serializeModel(model, { externalLocation: location, threshold: cfg.threshold });
  await writeFile(path.join(path.dirname(file), location), out.external!.bytes);
  await writeFile(file, out.model);
}
