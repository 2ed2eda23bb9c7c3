/** Read a whole blob into memory, with a ceiling so a huge blob cannot exhaust the heap. */
import { createHash } from 'node:crypto';
import type { ArtifactStore } from './artifact-store';
import { ArtifactNotFoundError, ArtifactTooLargeError } from './artifact-store';

export async function readArtifact(store: ArtifactStore, sha256: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
  const stream = await store.get(sha256);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    n += b.byteLength;
    if (n > maxBytes) {
      stream.destroy();
      throw new ArtifactTooLargeError(maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

/** The first `bytes` bytes of a blob (fewer if it is shorter), without reading the rest. */
export async function readArtifactHead(store: ArtifactStore, sha256: string, bytes: number): Promise<Buffer> {
  const stream = await store.get(sha256);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    chunks.push(b);
    n += b.byteLength;
    if (n >= bytes) break;
  }
  stream.destroy();
  return Buffer.concat(chunks, n).subarray(0, Math.min(n, bytes));
}

/** Whether the stored bytes hash to their name; false when the blob is absent. Streams, so any size. */
export async function blobMatchesHash(store: ArtifactStore, sha256: string): Promise<boolean> {
  let stream;
  try {
    stream = await store.get(sha256);
  } catch (e) {
    if (e instanceof ArtifactNotFoundError) return false;
    throw e;
  }
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex') === sha256;
}
