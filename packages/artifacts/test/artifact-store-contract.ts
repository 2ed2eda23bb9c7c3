/**
 * The behaviour every ArtifactStore promises, run against each implementation. A harness
 * gives the test what only the backend can do: list every raw file or key (to prove
 * nothing was left behind), overwrite stored bytes (to prove verify notices), and drop a
 * partial write the way a dying writer would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactHashMismatchError, ArtifactNotFoundError, ArtifactTooLargeError, readArtifact, type ArtifactStore } from '../src/index';

export interface StoreHarness {
  store: ArtifactStore;
  /** Every stored file or object key, relative to the store's root, sorted. */
  rawEntries(): Promise<string[]>;
  /** The raw entry a blob lives at, as rawEntries names it. */
  entryOf(sha256: string): string;
  overwriteStored(sha256: string, bytes: Uint8Array): Promise<void>;
  /** A partial write left behind; returns its raw entry. */
  leaveTemp(name: string, bytes: Uint8Array): Promise<string>;
  close(): Promise<void>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Write times may have one-second resolution (S3's Last-Modified): step past the current second. */
async function nextSecond(): Promise<Date> {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

export function artifactStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`${name}: ArtifactStore contract`, () => {
    let h: StoreHarness;
    let store: ArtifactStore;

    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    it('round-trips bytes under their content address', async () => {
      const data = randomBytes(100_000);
      const res = await store.put(data);
      expect(res.sha256).toBe(sha(data));
      expect(res.bytes).toBe(data.byteLength);
      expect(res.path).toBe(store.location(res.sha256));
      expect(await store.has(res.sha256)).toBe(true);
      expect(await store.size(res.sha256)).toBe(data.byteLength);
      expect(Buffer.compare(await readArtifact(store, res.sha256), data)).toBe(0);
      expect(await h.rawEntries()).toEqual([h.entryOf(res.sha256)]);
    });

    it('accepts streams, async iterables and files', async () => {
      const parts = [randomBytes(1000), randomBytes(3000), randomBytes(10)];
      const whole = Buffer.concat(parts);
      const a = await store.put(Readable.from(parts));
      const b = await store.put((async function* () { yield* parts; })());
      const file = path.join(tmpdir(), `artifact-input-${randomBytes(6).toString('hex')}.bin`);
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
      expect(await h.rawEntries()).toEqual([h.entryOf(a.sha256)]);
    });

    it('handles concurrent puts of the same content', async () => {
      const data = randomBytes(256 * 1024);
      const chunked = () => Readable.from(Array.from({ length: 64 }, (_, i) => data.subarray(i * 4096, (i + 1) * 4096)));
      const results = await Promise.all(Array.from({ length: 6 }, () => store.put(chunked())));
      for (const r of results) expect(r.sha256).toBe(sha(data));
      expect(await store.verify(sha(data))).toBe(true);
      expect(await h.rawEntries()).toEqual([h.entryOf(sha(data))]);
    });

    it('verifies the hash: a wrong expectedSha256 stores nothing, a corrupted blob fails verify', async () => {
      const data = Buffer.from('payload');
      const wrong = sha(Buffer.from('other'));
      await expect(store.put(data, { expectedSha256: wrong })).rejects.toBeInstanceOf(ArtifactHashMismatchError);
      expect(await store.has(sha(data))).toBe(false);
      expect(await store.has(wrong)).toBe(false);
      expect(await h.rawEntries()).toEqual([]);

      const ok = await store.put(data, { expectedSha256: sha(data) });
      expect(await store.verify(ok.sha256)).toBe(true);
      await h.overwriteStored(ok.sha256, Buffer.from('tampered'));
      expect(await store.verify(ok.sha256)).toBe(false);
    });

    it('an interrupted write leaves no visible artifact and no temp entry', async () => {
      const first = randomBytes(5000);
      const failing = new Readable({
        read() {
          this.push(first);
          this.destroy(new Error('connection reset'));
        },
      });
      await expect(store.put(failing)).rejects.toThrow('connection reset');
      expect(await store.has(sha(first))).toBe(false);
      expect(await h.rawEntries()).toEqual([]);
    });

    it('enforces maxBytes without keeping a partial blob', async () => {
      await expect(store.put(randomBytes(2000), { maxBytes: 1000 })).rejects.toBeInstanceOf(ArtifactTooLargeError);
      expect(await h.rawEntries()).toEqual([]);
      const ok = await store.put(randomBytes(1000), { maxBytes: 1000 });
      expect(ok.bytes).toBe(1000);
    });

    it('get of a missing blob rejects with ArtifactNotFoundError; a deletion removes', async () => {
      const missing = sha(Buffer.from('never stored'));
      await expect(store.get(missing)).rejects.toBeInstanceOf(ArtifactNotFoundError);
      expect(await store.size(missing)).toBeNull();
      expect(await store.verify(missing)).toBe(false);
      const r = await store.put(Buffer.from('x'));
      const later = new Date(Date.now() + 60_000);
      expect(await store.deleteIfWrittenBefore(r.sha256, later)).toBe(true);
      expect(await store.deleteIfWrittenBefore(r.sha256, later)).toBe(false);
      expect(await store.has(r.sha256)).toBe(false);
    });

    it('refuses anything that is not a sha256, so hashes cannot act as keys or paths', async () => {
      await expect(store.get('A'.repeat(64))).rejects.toThrow(/not a sha256/);
      await expect(store.size('../../etc/passwd')).rejects.toThrow(/not a sha256/);
      await expect(store.put(Buffer.from('x'), { expectedSha256: 'abc' })).rejects.toThrow(/not a sha256/);
    });

    it('lists blobs with their sizes and write times, and nothing from partial writes', async () => {
      const a = await store.put(Buffer.from('alpha'));
      const b = await store.put(randomBytes(2000));
      await h.leaveTemp('x.part', Buffer.from('partial'));
      const listed = [];
      for await (const blob of store.list()) listed.push(blob);
      expect(listed.map((x) => [x.sha256, x.bytes]).sort()).toEqual([[a.sha256, 5], [b.sha256, 2000]].sort());
      expect(listed.every((x) => Math.abs(Date.now() - x.writtenAt.getTime()) < 60_000)).toBe(true);
    });

    it('deletes a blob only if it was written before the cutoff; a fresh re-put survives', async () => {
      const r = await store.put(Buffer.from('old bytes'));
      const cutoff = await nextSecond();
      expect(await store.deleteIfWrittenBefore(r.sha256, new Date(cutoff.getTime() - 60_000))).toBe(false);
      // Written again (same content) after the cutoff: kept, and still readable.
      await store.put(Buffer.from('old bytes'));
      expect(await store.deleteIfWrittenBefore(r.sha256, cutoff)).toBe(false);
      expect((await readArtifact(store, r.sha256)).toString()).toBe('old bytes');
      expect(await store.deleteIfWrittenBefore(r.sha256, new Date(Date.now() + 60_000))).toBe(true);
      expect(await store.has(r.sha256)).toBe(false);
      expect(await h.rawEntries()).toEqual([]);
    });

    it('removes only partial writes older than the cutoff', async () => {
      const stale = await h.leaveTemp('stale.part', Buffer.from('left by a writer that died'));
      expect(await store.removeTempOlderThan(new Date(Date.now() - 60_000))).toBe(0);
      expect(await h.rawEntries()).toEqual([stale]);
      expect(await store.removeTempOlderThan(new Date(Date.now() + 60_000))).toBe(1);
      expect(await h.rawEntries()).toEqual([]);
    });
  });
}
