/**
 * Content-addressed blobs in an S3-compatible bucket: `<prefix>blobs/ab/cd/<sha256>`.
 * A put streams to a temp key `<prefix>tmp/<time>-<random>.part` (multipart for large
 * content), hashing on the way, and only once the hash is known and matches is the temp
 * object copied server-side to its content key; so a content key only ever holds
 * complete bytes that hash to its name, and a writer that dies leaves only a temp key
 * for removeTempOlderThan. Nothing is held in memory beyond the upload's part buffers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
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

/** CopyObject copies at most 5 GiB in one request (S3 API reference, CopyObject), so that bounds a blob here (a multipart UploadPartCopy would lift it). */
const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
const PART_BYTES = 8 * 1024 ** 2;
const BLOB_KEY = /blobs\/([0-9a-f]{2})\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Key prefix shared by every object of this store (e.g. "distillery/"); may be empty. */
  prefix?: string;
  /** Passed to the SDK: endpoint, region, forcePathStyle, credentials (default: the SDK's usual chain). */
  client?: S3ClientConfig;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;

  constructor(opts: S3ArtifactStoreOptions) {
    if (!opts.bucket) throw new Error('S3ArtifactStore: a bucket name is required (S3_BUCKET)');
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    // Checksums only where the API requires them: S3-compatible servers differ in which
    // of the newer streaming checksum encodings they accept, and our own sha256 verifies.
    this.client = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...opts.client });
  }

  key(sha256: string): string {
    assertSha256(sha256);
    return `${this.prefix}blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  location(sha256: string): string {
    return `s3://${this.bucket}/${this.key(sha256)}`;
  }

  async put(source: PutSource, opts: PutOptions = {}): Promise<PutResult> {
    if (opts.expectedSha256 !== undefined) assertSha256(opts.expectedSha256);
    const tmpKey = `${this.prefix}tmp/${Date.now()}-${randomBytes(8).toString('hex')}.part`;
    // Fail while streaming, not after uploading gigabytes that could never be copied into place.
    const counter = new HashingCounter(Math.min(opts.maxBytes ?? Infinity, MAX_SINGLE_COPY_BYTES));
    const body = source instanceof Uint8Array ? Readable.from([source]) : Readable.from(source as AsyncIterable<unknown>, { objectMode: false });
    let sourceError: unknown;
    const fed = pipeline(body, counter).catch((e: unknown) => {
      sourceError = e;
    });
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: tmpKey, Body: counter },
        partSize: PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (e) {
        // Stop feeding a dead upload, or the source would wait on backpressure forever.
        counter.destroy();
        await fed;
        // The source's own failure (a reset connection, the size limit) is the real cause.
        throw sourceError ?? e;
      }
      await fed;
      if (sourceError !== undefined) throw sourceError;
      const { sha256, bytes } = counter.result();
      if (opts.expectedSha256 !== undefined && opts.expectedSha256 !== sha256) throw new ArtifactHashMismatchError(opts.expectedSha256, sha256);
      // Copying onto an existing blob writes the same bytes and refreshes its write time,
      // which is what keeps a re-put safe from a collection that started before it.
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.key(sha256), CopySource: encodeCopySource(this.bucket, tmpKey) }));
      return { sha256, bytes, path: this.location(sha256) };
    } finally {
      await this.deleteKey(tmpKey).catch(() => {});
    }
  }

  async putFile(file: string, opts: PutOptions = {}): Promise<PutResult> {
    return this.put(createReadStream(file), opts);
  }

  async get(sha256: string): Promise<Readable> {
    const key = this.key(sha256);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(res.Body instanceof Readable)) throw new Error(`S3 GetObject for ${key} returned no stream`);
      return res.Body;
    } catch (e) {
      if (isNotFound(e)) throw new ArtifactNotFoundError(sha256);
      throw e;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    return (await this.head(sha256))?.bytes ?? null;
  }

  verify(sha256: string): Promise<boolean> {
    return blobMatchesHash(this, sha256);
  }

  /**
   * S3 has no rename, so unlike the local store this checks then deletes: a put of the
   * same content landing between the two is lost. The window is one round trip, and the
   * collector only considers blobs older than the grace period and the oldest running
   * run or import, which such a writer would have to have started before.
   */
  async deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean> {
    const head = await this.head(sha256);
    if (head === null || head.writtenAt.getTime() >= cutoff.getTime()) return false;
    await this.deleteKey(this.key(sha256));
    return true;
  }

  async *list(): AsyncIterable<StoredBlob> {
    for await (const obj of this.objectsUnder(`${this.prefix}blobs/`)) {
      const m = BLOB_KEY.exec(obj.key);
      if (!m || m[3]!.slice(0, 4) !== m[1]! + m[2]!) continue;
      yield { sha256: m[3]!, bytes: obj.bytes, writtenAt: obj.writtenAt };
    }
  }

  async removeTempOlderThan(cutoff: Date): Promise<number> {
    let removed = 0;
    for await (const obj of this.objectsUnder(`${this.prefix}tmp/`)) {
      if (obj.writtenAt.getTime() >= cutoff.getTime()) continue;
      await this.deleteKey(obj.key);
      removed++;
    }
    removed += await this.abortMultipartUploadsOlderThan(cutoff);
    return removed;
  }

  /** Parts of a multipart upload whose writer died are invisible but billed; abort them. */
  private async abortMultipartUploadsOlderThan(cutoff: Date): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: `${this.prefix}tmp/`, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (e) {
        // Some S3-compatible servers do not list uploads; their lifecycle rules must clean up instead.
        if (e instanceof S3ServiceException && e.name === 'NotImplemented') return aborted;
        throw e;
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated.getTime() >= cutoff.getTime()) continue;
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
        aborted++;
      }
      if (!page.IsTruncated) return aborted;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  private async head(sha256: string): Promise<{ bytes: number; writtenAt: Date } | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
      return { bytes: res.ContentLength ?? 0, writtenAt: res.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private async *objectsUnder(prefix: string): AsyncIterable<{ key: string; bytes: number; writtenAt: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, bytes: o.Size ?? 0, writtenAt: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

/** Passes bytes through unchanged while hashing and counting them, failing past maxBytes. */
class HashingCounter extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: unknown, _enc: BufferEncoding, done: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) return done(new TypeError('artifact sources must yield bytes'));
    this.bytes += bytes.byteLength;
    if (this.bytes > this.maxBytes) return done(new ArtifactTooLargeError(this.maxBytes));
    this.hash.update(bytes);
    done(null, bytes);
  }

  override _flush(done: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    done();
  }

  result(): { sha256: string; bytes: number } {
    if (this.digest === undefined) throw new Error('the upload finished before its source did');
    return { sha256: this.digest, bytes: this.bytes };
  }
}

function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function isNotFound(e: unknown): boolean {
  if (e instanceof S3ServiceException) return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata.httpStatusCode === 404;
  return false;
}
