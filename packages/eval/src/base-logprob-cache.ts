/**
 * The base model's log-distribution at every scored token, kept so comparing many
 * compressed models with one base (a sweep) runs the base once per evaluation suite
 * version. Rows are float32 [tokens, vocab] in scan order, plus the base's top-1 id per
 * token. In memory (calibration-sized data) or in a folder on disk: `<key>.logprobs`,
 * `<key>.top1`, then `<key>.json`, written last and renamed into place, so a reader sees
 * a whole entry or none.
 */
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { BatchView } from './token-scan';

export interface BaseRows {
  readonly vocab: number;
  readonly rows: number;
  /** Rows [from, from + count): log-probabilities [count, vocab] and top-1 ids [count]. */
  read(from: number, count: number): Promise<{ logprobs: Float32Array; top1: Int32Array }>;
}

export interface RowSink {
  append(logprobs: Float32Array, top1: Int32Array): Promise<void> | void;
}

/** A scan visitor that copies each scored token's log-distribution and top-1 id into `sink` (scan with logprobs: true). */
export function recordRows(sink: RowSink): (view: BatchView) => Promise<void> {
  return async ({ scores, slots }) => {
    if (!scores.logprobs) throw new Error('recording base rows needs a scan with logprobs');
    const V = scores.vocab;
    const T = scores.length;
    const logprobs = new Float32Array(slots.length * V);
    const top1 = new Int32Array(slots.length);
    slots.forEach((s, i) => {
      const at = s.row * T + s.position;
      logprobs.set(scores.logprobs!.subarray(at * V, (at + 1) * V), i * V);
      top1[i] = Number(scores.topIds[at * scores.k]);
    });
    await sink.append(logprobs, top1);
  };
}

export class MemoryBaseRows implements BaseRows, RowSink {
  private chunks: { logprobs: Float32Array; top1: Int32Array }[] = [];
  private packed: { logprobs: Float32Array; top1: Int32Array } | null = null;
  constructor(readonly vocab: number) {}

  get rows(): number {
    return this.packed ? this.packed.top1.length : this.chunks.reduce((n, c) => n + c.top1.length, 0);
  }

  append(logprobs: Float32Array, top1: Int32Array): void {
    if (this.packed) throw new Error('rows were already read; a cache is written once');
    this.chunks.push({ logprobs, top1 });
  }

  async read(from: number, count: number): Promise<{ logprobs: Float32Array; top1: Int32Array }> {
    if (!this.packed) {
      const n = this.rows;
      const logprobs = new Float32Array(n * this.vocab);
      const top1 = new Int32Array(n);
      let at = 0;
      for (const c of this.chunks) {
        logprobs.set(c.logprobs, at * this.vocab);
        top1.set(c.top1, at);
        at += c.top1.length;
      }
      this.packed = { logprobs, top1 };
      this.chunks = [];
    }
    checkRange(from, count, this.packed.top1.length);
    return { logprobs: this.packed.logprobs.subarray(from * this.vocab, (from + count) * this.vocab), top1: this.packed.top1.subarray(from, from + count) };
  }
}

function checkRange(from: number, count: number, rows: number): void {
  if (from < 0 || count < 0 || from + count > rows) throw new Error(`base rows [${from}, ${from + count}) are outside the cached ${rows} rows`);
}

const KEY = /^[0-9a-f]{16,128}$/;
function files(dir: string, key: string) {
  if (!KEY.test(key)) throw new Error(`cache key must be 16-128 lowercase hex digits (got "${key}")`);
  const at = (ext: string) => path.join(dir, `${key}.${ext}`);
  return { logprobs: at('logprobs'), top1: at('top1'), meta: at('json') };
}

interface CacheMeta {
  format: 'distillery-base-logprobs-1';
  vocab: number;
  rows: number;
}

export interface FileRowsWriter extends RowSink {
  /** Makes the entry visible to readers. */
  commit(): Promise<void>;
  /** Removes what was written (after a failure or cancellation). */
  abort(): Promise<void>;
}

export async function writeFileRows(dir: string, key: string, vocab: number): Promise<FileRowsWriter> {
  const f = files(dir, key);
  await mkdir(dir, { recursive: true });
  // Unique temporary names: two workers may record the same base at once; the last rename wins with identical bytes.
  const tmp = `.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const lp: FileHandle = await open(f.logprobs + tmp, 'w');
  const t1: FileHandle = await open(f.top1 + tmp, 'w');
  let rows = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await lp.close();
    await t1.close();
  };
  const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return {
    async append(logprobs, top1) {
      if (logprobs.length !== top1.length * vocab) throw new Error(`appended ${logprobs.length} log-probabilities for ${top1.length} rows of vocab ${vocab}`);
      await lp.write(bytes(logprobs));
      await t1.write(bytes(top1));
      rows += top1.length;
    },
    async commit() {
      await close();
      await rename(f.logprobs + tmp, f.logprobs);
      await rename(f.top1 + tmp, f.top1);
      const meta: CacheMeta = { format: 'distillery-base-logprobs-1', vocab, rows };
      await writeFile(f.meta + tmp, JSON.stringify(meta));
      await rename(f.meta + tmp, f.meta);
    },
    async abort() {
      await close();
      await Promise.all([rm(f.logprobs + tmp, { force: true }), rm(f.top1 + tmp, { force: true })]);
    },
  };
}

export interface FileBaseRows extends BaseRows {
  close(): Promise<void>;
}

/** The cached entry, or null when there is none (or it is incomplete). */
export async function openFileRows(dir: string, key: string): Promise<FileBaseRows | null> {
  const f = files(dir, key);
  let meta: CacheMeta;
  try {
    meta = JSON.parse(await readFile(f.meta, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
  if (meta.format !== 'distillery-base-logprobs-1') return null;
  const top1All = new Int32Array(meta.rows);
  let lp: FileHandle;
  try {
    const t1 = await readFile(f.top1);
    if (t1.byteLength !== meta.rows * 4) return null;
    new Uint8Array(top1All.buffer).set(t1);
    lp = await open(f.logprobs, 'r');
    if ((await lp.stat()).size !== meta.rows * meta.vocab * 4) {
      await lp.close();
      return null;
    }
  } catch {
    return null;
  }
  return {
    vocab: meta.vocab,
    rows: meta.rows,
    async read(from, count) {
      checkRange(from, count, meta.rows);
      const logprobs = new Float32Array(count * meta.vocab);
      const into = new Uint8Array(logprobs.buffer);
      // read() may return fewer bytes than asked; keep going until the range is in.
      for (let got = 0; got < into.byteLength; ) {
        const { bytesRead } = await lp.read(into, got, into.byteLength - got, from * meta.vocab * 4 + got);
        if (bytesRead === 0) throw new Error('the base log-probability cache ended early');
        got += bytesRead;
      }
      return { logprobs, top1: top1All.subarray(from, from + count) };
    },
    close: () => lp.close(),
  };
}
