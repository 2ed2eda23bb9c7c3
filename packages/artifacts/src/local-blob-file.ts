/**
 * A local file path for a blob, for code that needs one (memory-mapped ONNX external
 * data, tools that open files): the store's own path when it has one, else a copy
 * streamed into a scratch folder `<cacheDir>/<sha256>`, verified against its name and
 * renamed into place only when complete, so concurrent callers share one good copy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactHashMismatchError, assertSha256, type ArtifactStore } from './artifact-store';

export async function localBlobFile(store: ArtifactStore, sha256: string, cacheDir: string): Promise<string> {
  assertSha256(sha256);
  if (store.path) {
    const own = store.path(sha256);
    if ((await store.size(sha256)) !== null) return own;
  }
  const dest = path.join(path.resolve(cacheDir), sha256);
  if (await isFile(dest)) return dest;
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(await store.get(sha256), hashing, createWriteStream(tmp, { flags: 'wx' }));
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new ArtifactHashMismatchError(sha256, actual);
    await rename(tmp, dest);
    return dest;
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
