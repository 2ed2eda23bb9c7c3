/**
 * An uploaded model.safetensors with its uploaded config.json (and tokenizer.json) laid
 * out as a Hugging Face folder in scratch space, so the folder converter reads it as it
 * reads a server-side folder. The weights are streamed from the store to disk, never
 * held in memory; `remove()` deletes the folder.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '@distillery/artifacts';

export interface ScratchFolder {
  dir: string;
  remove(): Promise<void>;
}

export async function uploadedHfFolder(store: ArtifactStore, input: { modelSha256: string; configJson: string; tokenizerJson: string | null }): Promise<ScratchFolder> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'distillery-upload-folder-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await writeFile(path.join(dir, 'config.json'), input.configJson);
    if (input.tokenizerJson !== null) await writeFile(path.join(dir, 'tokenizer.json'), input.tokenizerJson);
    await pipeline(await store.get(input.modelSha256), createWriteStream(path.join(dir, 'model.safetensors')));
    return { dir, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
