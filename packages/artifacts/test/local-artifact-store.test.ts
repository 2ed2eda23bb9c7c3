import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactHashMismatchError,
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  LocalArtifactStore,
  readArtifact,
} from '../src/index';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Every file under dir (relative paths), so tests can prove nothing else was left behind. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

describe('LocalArtifactStore', () => {
  let root: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'artifacts-'));
    store = new LocalArtifactStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips bytes under ab/cd/<sha256>', async () => {
    const data = randomBytes(100_000);
    const res = await store.put(data);
    expect(res.sha256).toBe(sha(data));
    expect(res.bytes).toBe(data.byteLength);
    expect(res.path).toBe(path.join(root, res.sha256.slice(0, 2), res.sha256.slice(2, 4), res.sha256));
    expect(await store.has(res.sha256)).toBe(true);
    expect(await store.size(res.sha256)).toBe(data.byteLength);
    expect(Buffer.compare(await readArtifact(store, res.sha256), data)).toBe(0);
    expect(Buffer.compare(await readFile(store.path(res.sha256)), data)).toBe(0);
    expect(await filesUnder(root)).toEqual([path.relative(root, res.path)]);
  });

  it('accepts streams, async iterables and files', async () => {
    const parts = [randomBytes(1000), randomBytes(3000), randomBytes(10)];
    const whole = Buffer.concat(parts);
    const a = await store.put(Readable.from(parts));
    const b = await store.put((async function* () { yield* parts; })());
    const file = path.join(root, 'input.bin');
    await writeFile(file, whole);
    const c = await store.putFile(file);
    expect(a.sha256).toBe(sha(whole));
    expect(b.sha256).toBe(a.sha256);
    expect(c.sha256).toBe(a.sha256);
    expect(c.bytes).toBe(whole.byteLength);
  });

  it('is idempotent: putting the same content twice keeps one blob', async () => {
    const data = Buffer.from('same content');
    const a = await store.put(data);
    const b = await store.put(data);
    expect(b).toEqual(a);
    expect(await filesUnder(root)).toEqual([path.relative(root, a.path)]);
  });

  it('handles concurrent puts of the same content', async () => {
    const data = randomBytes(256 * 1024);
    // Small chunks interleave the writers as much as possible.
    const chunked = () => Readable.from(Array.from({ length: 64 }, (_, i) => data.subarray(i * 4096, (i + 1) * 4096)));
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put(chunked())));
    for (const r of results) expect(r.sha256).toBe(sha(data));
    expect(await store.verify(sha(data))).toBe(true);
    expect(await filesUnder(root)).toEqual([path.relative(root, results[0]!.path)]);
  });

  it('verifies the hash: a wrong expectedSha256 stores nothing, a corrupted blob fails verify', async () => {
    const data = Buffer.from('payload');
    const wrong = sha(Buffer.from('other'));
    await expect(store.put(data, { expectedSha256: wrong })).rejects.toBeInstanceOf(ArtifactHashMismatchError);
    expect(await store.has(sha(data))).toBe(false);
    expect(await store.has(wrong)).toBe(false);
    expect(await filesUnder(root)).toEqual([]);

    const ok = await store.put(data, { expectedSha256: sha(data) });
    expect(await store.verify(ok.sha256)).toBe(true);
    await writeFile(ok.path, 'tampered');
    expect(await store.verify(ok.sha256)).toBe(false);
  });

  it('an interrupted write leaves no visible artifact and no temp file', async () => {
    const first = randomBytes(5000);
    const failing = new Readable({
      read() {
        this.push(first);
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(store.put(failing)).rejects.toThrow('connection reset');
    expect(await store.has(sha(first))).toBe(false);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('enforces maxBytes without keeping a partial blob', async () => {
    await expect(store.put(randomBytes(2000), { maxBytes: 1000 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
    expect(await filesUnder(root)).toEqual([]);
    const ok = await store.put(randomBytes(1000), { maxBytes: 1000 });
    expect(ok.bytes).toBe(1000);
  });

  it('get of a missing blob rejects with ArtifactNotFoundError; a deletion removes', async () => {
    const missing = sha(Buffer.from('never stored'));
    await expect(store.get(missing)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    expect(await store.verify(missing)).toBe(false);
    const r = await store.put(Buffer.from('x'));
    const later = new Date(Date.now() + 60_000);
    expect(await store.deleteIfWrittenBefore(r.sha256, later)).toBe(true);
    expect(await store.deleteIfWrittenBefore(r.sha256, later)).toBe(false);
    expect(await store.has(r.sha256)).toBe(false);
  });

  it('refuses anything that is not a sha256, so hashes cannot act as paths', async () => {
    expect(() => store.path('../../etc/passwd')).toThrow(/not a sha256/);
    await expect(store.get('A'.repeat(64))).rejects.toThrow(/not a sha256/);
    await expect(store.put(Buffer.from('x'), { expectedSha256: 'abc' })).rejects.toThrow(/not a sha256/);
  });
  it('lists blobs with their sizes and write times, and nothing from the temp folder', async () => {
    const a = await store.put(Buffer.from('alpha'));
    const b = await store.put(randomBytes(2000));
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    await writeFile(path.join(root, 'tmp', 'x.part'), 'partial');
    const listed = [];
    for await (const blob of store.list()) listed.push(blob);
    expect(listed.map((x) => [x.sha256, x.bytes]).sort()).toEqual([[a.sha256, 5], [b.sha256, 2000]].sort());
    expect(listed.every((x) => Date.now() - x.writtenAt.getTime() < 60_000)).toBe(true);
  });

  it('deletes a blob only if it was written before the cutoff; a fresh re-put survives', async () => {
    const r = await store.put(Buffer.from('old bytes'));
    const old = new Date(Date.now() - 3_600_000);
    await utimes(r.path, old, old);
    const cutoff = new Date(Date.now() - 60_000);
    // Written again (same content) after the cutoff: kept, and still readable.
    await store.put(Buffer.from('old bytes'));
    expect(await store.deleteIfWrittenBefore(r.sha256, cutoff)).toBe(false);
    expect((await readArtifact(store, r.sha256)).toString()).toBe('old bytes');
    await utimes(r.path, old, old);
    expect(await store.deleteIfWrittenBefore(r.sha256, cutoff)).toBe(true);
    expect(await store.has(r.sha256)).toBe(false);
    expect(await store.deleteIfWrittenBefore(r.sha256, cutoff)).toBe(false);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('removes only temp files older than the cutoff', async () => {
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    const stale = path.join(root, 'tmp', 'stale.part');
    const fresh = path.join(root, 'tmp', 'fresh.part');
    await writeFile(stale, 'left by a writer that died');
    await writeFile(fresh, 'being written');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(stale, old, old);
    expect(await store.removeTempOlderThan(new Date(Date.now() - 60_000))).toBe(1);
    expect(await filesUnder(root)).toEqual(['tmp/fresh.part']);
  });
});
