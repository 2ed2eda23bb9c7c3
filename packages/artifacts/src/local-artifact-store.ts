/**
 * Content-addressed blobs in a local folder: `<root>/ab/cd/<sha256>`. A put streams to
 * a temp file in `<root>/tmp` (same filesystem, so rename is atomic), hashes while
 * writing, fsyncs, and only then renames into place; so a blob is visible only once it
 * is complete and its hash is known, and an interrupted write leaves nothing visible.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  ArtifactHashMismatchError,
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  assertSha256,
  type ArtifactStore,
  type PutOptions,
  type PutResult,
  type PutSource,
  type StoredBlob,
} from './artifact-store';
import { blobMatchesHash } from './read-artifact';

const HEX2 = /^[0-9a-f]{2}$/;

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, 'tmp');
  }

  path(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  location(sha256: string): string {
    return this.path(sha256);
  }

  async put(source: PutSource, opts: PutOptions = {}): Promise<PutResult> {
    if (opts.expectedSha256 !== undefined) assertSha256(opts.expectedSha256);
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
    const hash = createHash('sha256');
    let bytes = 0;
    let fh: FileHandle | undefined;
    try {
      fh = await open(tmp, 'wx');
      for await (const chunk of chunksOf(source)) {
        bytes += chunk.byteLength;
        if (opts.maxBytes !== undefined && bytes > opts.maxBytes) throw new ArtifactTooLargeError(opts.maxBytes);
        hash.update(chunk);
        await writeAll(fh, chunk);
      }
      await fh.sync();
      await fh.close();
      fh = undefined;
      const sha256 = hash.digest('hex');
      if (opts.expectedSha256 !== undefined && opts.expectedSha256 !== sha256) {
        throw new ArtifactHashMismatchError(opts.expectedSha256, sha256);
      }
      const dest = this.path(sha256);
      const dir = path.dirname(dest);
      await mkdir(dir, { recursive: true });
      // Same content under the same name: replacing an existing blob is harmless, and
      // rename is atomic, so concurrent puts of one content never expose a partial file.
      await rename(tmp, dest);
      await syncDir(dir);
      return { sha256, bytes, path: dest };
    } catch (e) {
      if (fh) await fh.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  async putFile(file: string, opts: PutOptions = {}): Promise<PutResult> {
    return this.put(createReadStream(file), opts);
  }

  async get(sha256: string): Promise<Readable> {
    const file = this.path(sha256);
    const stream: ReadStream = createReadStream(file);
    // Surface "absent" as a rejection here rather than as a later stream error.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new ArtifactNotFoundError(sha256) : e));
    });
    return stream;
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    try {
      const s = await stat(this.path(sha256));
      return s.isFile() ? s.size : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  verify(sha256: string): Promise<boolean> {
    return blobMatchesHash(this, sha256);
  }

  async deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean> {
    const file = this.path(sha256);
    await mkdir(this.tmpDir, { recursive: true });
    // Move it aside first, then look at what was moved: a concurrent put renames a fresh
    // file into place either before the move (then the fresh file is moved, seen as fresh
    // and moved back) or after it (then it lands beside the one being deleted).
    const aside = path.join(this.tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.deleting`);
    try {
      await rename(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const { mtimeMs } = await stat(aside);
    if (mtimeMs >= cutoff.getTime()) {
      await rename(aside, file);
      return false;
    }
    // A concurrent temp sweep may have removed the old file from tmp/ already.
    await unlink(aside).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    return true;
  }

  async *list(): AsyncIterable<StoredBlob> {
    for (const a of await readdirOrEmpty(this.root)) {
      if (!HEX2.test(a)) continue;
      for (const b of await readdirOrEmpty(path.join(this.root, a))) {
        if (!HEX2.test(b)) continue;
        for (const name of await readdirOrEmpty(path.join(this.root, a, b))) {
          if (!name.startsWith(a + b) || !/^[0-9a-f]{64}$/.test(name)) continue;
          try {
            const s = await stat(path.join(this.root, a, b, name));
            if (s.isFile()) yield { sha256: name, bytes: s.size, writtenAt: s.mtime };
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
        }
      }
    }
  }

  async removeTempOlderThan(cutoff: Date): Promise<number> {
    let removed = 0;
    for (const name of await readdirOrEmpty(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      try {
        if ((await stat(file)).mtimeMs < cutoff.getTime()) {
          await unlink(file);
          removed++;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return removed;
  }
}

async function* chunksOf(source: PutSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (chunk instanceof Uint8Array) yield chunk;
    else if (typeof chunk === 'string') yield Buffer.from(chunk);
    else throw new TypeError('artifact sources must yield bytes');
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
    off += bytesWritten;
  }
}

/** fsync the directory so the rename itself survives a power loss. */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the data itself is already synced.
  } finally {
    await fh?.close().catch(() => {});
  }
}

