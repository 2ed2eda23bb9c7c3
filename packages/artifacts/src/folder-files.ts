/**
 * The files of an uploaded model folder (a Hugging Face folder's shards): each stored by
 * hash, named by the uploader. The name becomes a file in the worker's scratch folder, so it
 * must be a plain file name: no separators, no leading dot, nothing the importer lays out itself.
 */
import { isSha256 } from './artifact-store';

export interface FolderFile {
  /** The file's name in the folder, e.g. `model-00001-of-00002.safetensors`. */
  name: string;
  sha256: string;
}

/** At most this many further files travel with one import (a 405B model has under 200 shards). */
export const MAX_FOLDER_FILES = 1024;

/** Names the importer writes itself from their own arguments. */
export const RESERVED_FOLDER_FILES: readonly string[] = ['config.json', 'tokenizer.json', 'model.safetensors', 'model.safetensors.index.json'];

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

/** Why this list of folder files cannot be laid out, or null when it can. */
export function folderFilesProblem(files: readonly FolderFile[]): string | null {
  if (files.length > MAX_FOLDER_FILES) return `at most ${MAX_FOLDER_FILES} files, got ${files.length}`;
  const seen = new Set<string>();
  for (const f of files) {
    if (!FILE_NAME.test(f.name)) return `${JSON.stringify(f.name)} is not a plain file name (letters, digits, '.', '_', '-'; no leading dot or separators)`;
    if (RESERVED_FOLDER_FILES.includes(f.name)) return `${JSON.stringify(f.name)} is given by its own argument (sha256, configSha256 or tokenizerSha256), not in files`;
    if (seen.has(f.name)) return `${JSON.stringify(f.name)} is named twice`;
    if (!isSha256(f.sha256)) return `${JSON.stringify(f.name)}: sha256 must be 64 lowercase hex digits, as returned by POST /upload`;
    seen.add(f.name);
  }
  return null;
}
