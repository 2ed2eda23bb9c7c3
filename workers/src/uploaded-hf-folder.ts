/**
 * Uploaded files laid out in scratch space for a converter that reads files by range: a
 * model.safetensors (or model.safetensors.index.json with its shards) with its uploaded
 * config.json (and tokenizer.json) as a Hugging Face folder, read as a server-side folder is;
 * or a lone GGUF file or llama2.c checkpoint. The bytes are streamed from the store to disk,
 * never held in memory; `remove()` deletes the folder.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArtifactNotFoundError, folderFilesProblem, type ArtifactStore, type FolderFile } from '@distillery/artifacts';

export interface ScratchFolder {
  dir: string;
  remove(): Promise<void>;
}

/** A folder file the store no longer holds (the upload expired or was deleted). */
export class FolderFileMissingError extends Error {
  override name = 'FolderFileMissingError';
}

export async function uploadedHfFolder(store: ArtifactStore, input: { main: FolderFile; files: readonly FolderFile[]; configJson: string | null; tokenizerJson: string | null }): Promise<ScratchFolder> {
  const problem = folderFilesProblem(input.files);
  if (problem !== null) throw new FolderFileMissingError(`the folder's files: ${problem}`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-upload-folder-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    if (input.configJson !== null) await writeFile(path.join(dir, 'config.json'), input.configJson);
    if (input.tokenizerJson !== null) await writeFile(path.join(dir, 'tokenizer.json'), input.tokenizerJson);
    // One file at a time: the shards of a large model are streamed, not opened together.
    for (const f of [input.main, ...input.files]) {
      let source;
      try {
        source = await store.get(f.sha256);
      } catch (e) {
        if (e instanceof ArtifactNotFoundError) throw new FolderFileMissingError(`${f.name} (${f.sha256}) is missing from the artifact store; upload it again`);
        throw e;
      }
      await pipeline(source, createWriteStream(path.join(dir, f.name)));
    }
    return { dir, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
