/**
 * Large blobs stream through the S3 store: a put of generated content (multipart, several
 * parts) and a get hashed chunk by chunk, with the process's heap growth far below the
 * blob's size; and localBlobFile gives code that needs a path a verified local copy.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBlobFile, LocalArtifactStore, readArtifact } from '../src/index';
import { startS3TestServer, type S3TestServer } from './s3-test-server';

const CHUNK = 1024 * 1024;
const TOTAL_CHUNKS = 160; // 160 MiB: 20 parts of the store's 8 MiB

/** Deterministic bytes (xorshift32), generated on demand so the test never holds the whole blob. */
function* generated(chunks: number, onChunk: (i: number) => void = () => {}): Generator<Buffer> {
  let x = 2463534242;
  for (let i = 0; i < chunks; i++) {
    onChunk(i);
    const words = new Uint32Array(CHUNK / 4);
    for (let k = 0; k < words.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[k] = x >>> 0;
    }
    yield Buffer.from(words.buffer);
  }
}

// A forced collection before each sample, so the figure is live memory, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function expectedHash(chunks: number): string {
  const h = createHash('sha256');
  for (const b of generated(chunks)) h.update(b);
  return h.digest('hex');
}

let s3: S3TestServer;
let scratch: string;
beforeAll(async () => {
  s3 = await startS3TestServer();
  scratch = await mkdtemp(path.join(tmpdir(), 'blob-scratch-'));
});
afterAll(async () => {
  await s3?.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('S3ArtifactStore streaming', () => {
  it('puts and gets a 160 MiB blob without holding it in memory', async () => {
    const store = s3.store('large/');
    const want = expectedHash(TOTAL_CHUNKS);
    const before = liveBytes();
    let peak = 0;
    const put = await store.put(Readable.from(generated(TOTAL_CHUNKS, (i) => i % 16 === 15 && (peak = Math.max(peak, liveBytes() - before)))));
    expect(put.sha256).toBe(want);
    expect(put.bytes).toBe(TOTAL_CHUNKS * CHUNK);
    expect(await store.size(want)).toBe(TOTAL_CHUNKS * CHUNK);
    const h = createHash('sha256');
    let n = 0;
    for await (const chunk of await store.get(want)) {
      const b = chunk as Buffer;
      if (Math.floor((n + b.byteLength) / (16 * CHUNK)) > Math.floor(n / (16 * CHUNK))) peak = Math.max(peak, liveBytes() - before);
      h.update(b);
      n += b.byteLength;
    }
    expect(n).toBe(TOTAL_CHUNKS * CHUNK);
    expect(h.digest('hex')).toBe(want);
    // Part buffers (two 8 MiB parts in flight, one filling, and copies of them on both
    // sides: the server runs in this process) and stream chunks: about 50 MiB here, half the blob at most.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(80 * CHUNK);
  });

  it('localBlobFile copies a blob into the scratch folder once, verified', async () => {
    const store = s3.store('scratch/');
    const put = await store.put(Buffer.from('weights for a file path'));
    const file = await localBlobFile(store, put.sha256, scratch);
    expect(file).toBe(path.join(scratch, put.sha256));
    expect((await readFile(file)).toString()).toBe('weights for a file path');
    expect(await localBlobFile(store, put.sha256, scratch)).toBe(file);
    await expect(localBlobFile(store, createHash('sha256').update('absent').digest('hex'), scratch)).rejects.toThrow(/not found/);
  });

  it('localBlobFile uses a local store its own path, copying nothing', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'artifacts-'));
    try {
      const local = new LocalArtifactStore(root);
      const put = await local.put(Buffer.from('on disk already'));
      expect(await localBlobFile(local, put.sha256, scratch)).toBe(local.path(put.sha256));
      expect((await readArtifact(local, put.sha256)).toString()).toBe('on disk already');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
