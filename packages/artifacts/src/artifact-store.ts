/**
 * The one interface every producer and consumer of stored bytes uses. Content is
 * addressed by its sha256, so a hash in the database always names exactly one, fully
 * written, verified blob. Implementations: a local folder now, an S3-compatible bucket
 * later; callers must not assume a local path exists unless `path` is defined.
 */
import type { Readable } from 'node:stream';

export interface PutResult {
  /** Lowercase hex sha256 of the stored bytes. */
  sha256: string;
  bytes: number;
  /** Where the blob lives: a file path for the local store, an object URL for S3. */
  path: string;
}

export interface PutOptions {
  /** Reject (and store nothing) unless the content hashes to this. */
  expectedSha256?: string;
  /** Reject (and store nothing) once more than this many bytes arrive. */
  maxBytes?: number;
}

export type PutSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;

/** One stored blob as the garbage collector sees it. */
export interface StoredBlob {
  sha256: string;
  bytes: number;
  /** When its current bytes were written (a re-put of the same content refreshes it). */
  writtenAt: Date;
}

export interface ArtifactStore {
  put(source: PutSource, opts?: PutOptions): Promise<PutResult>;
  putFile(file: string, opts?: PutOptions): Promise<PutResult>;
  /** A stream of the blob; rejects with ArtifactNotFoundError when absent. */
  get(sha256: string): Promise<Readable>;
  has(sha256: string): Promise<boolean>;
  /** Size in bytes, or null when absent. */
  size(sha256: string): Promise<number | null>;
  /** Re-hash the stored bytes; false when absent or corrupted. */
  verify(sha256: string): Promise<boolean>;
  /**
   * Removes the blob only if its bytes were written before `cutoff`; a put of the same
   * content racing with this call is never lost. True if something was removed. Callers
   * decide *whether* a blob may go through packages/db blob-references, never directly.
   */
  deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean>;
  /** Every stored blob (order unspecified). */
  list(): AsyncIterable<StoredBlob>;
  /** Removes partial writes (temp files) older than `cutoff`, left by writers that died. */
  removeTempOlderThan(cutoff: Date): Promise<number>;
  /** Where a blob lives, as PutResult.path names it (file path or s3:// URL); for records, not for reading. */
  location(sha256: string): string;
  /** Local file path of a blob (only stores backed by a filesystem have it). */
  path?(sha256: string): string;
}

export class ArtifactNotFoundError extends Error {
  readonly code = 'ARTIFACT_NOT_FOUND';
  constructor(readonly sha256: string) {
    super(`artifact ${sha256} not found`);
    this.name = 'ArtifactNotFoundError';
  }
}

export class ArtifactHashMismatchError extends Error {
  readonly code = 'ARTIFACT_HASH_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content hashes to ${actual}, expected ${expected}`);
    this.name = 'ArtifactHashMismatchError';
  }
}

export class ArtifactTooLargeError extends Error {
  readonly code = 'ARTIFACT_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`content exceeds the limit of ${maxBytes} bytes`);
    this.name = 'ArtifactTooLargeError';
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256(s: string): boolean {
  return SHA256_HEX.test(s);
}

/** Throws on anything but 64 lowercase hex digits, so a hash can never act as a path. */
export function assertSha256(s: string): string {
  if (!SHA256_HEX.test(s)) throw new Error(`not a sha256 (64 lowercase hex digits): ${JSON.stringify(s.slice(0, 80))}`);
  return s;
}
