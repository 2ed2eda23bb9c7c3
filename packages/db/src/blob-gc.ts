/**
 * The garbage collector of stored bytes: uploads that were never imported within the
 * upload grace period are dropped, then every blob nothing refers to is deleted through
 * blob-references (the one place that decides), and temp files of writers that died
 * are removed. Blobs written after `cutoff` are left alone: the oldest running run or
 * importing model may still be about to point at them, and so may a writer inside the
 * grace period. Safe to run from several processes at once (each deletion re-checks
 * under the blob's exclusive lock).
 */
import type { PrismaClient } from './generated/client.ts';
import { deleteBlobIfUnreferenced, lockBlob, type BlobRemover } from './blob-references.ts';

export interface CollectableStore extends BlobRemover {
  list(): AsyncIterable<{ sha256: string; bytes: number; writtenAt: Date }>;
  removeTempOlderThan(cutoff: Date): Promise<number>;
}

export interface BlobGcOptions {
  /** Unreferenced blobs and temp files younger than this are kept. */
  graceMs: number;
  /** Pending (never imported) uploads older than this are dropped. */
  uploadGraceMs: number;
  now?: Date;
}

export interface BlobGcResult {
  expiredUploads: number;
  deletedBlobs: string[];
  deletedBytes: number;
  /** Blobs old enough to collect that something still refers to. */
  keptReferenced: number;
  tempFilesRemoved: number;
  /** Blobs written at or after this were not considered. */
  cutoff: Date;
}

/** Grace cutoff, moved back to the start of the oldest run or import still in progress. */
async function collectionCutoff(prisma: PrismaClient, now: Date, graceMs: number): Promise<Date> {
  const [run, importing] = await Promise.all([
    prisma.run.findFirst({ where: { status: 'running' }, orderBy: { startedAt: 'asc' }, select: { startedAt: true } }),
    prisma.model.findFirst({ where: { status: 'importing' }, orderBy: { createdAt: 'asc' }, select: { createdAt: true } }),
  ]);
  const times = [now.getTime() - graceMs, run?.startedAt?.getTime(), importing?.createdAt.getTime()].filter((t): t is number => t !== undefined);
  return new Date(Math.min(...times));
}

async function expireUploads(prisma: PrismaClient, before: Date): Promise<number> {
  const stale = await prisma.upload.findMany({ where: { state: 'pending', createdAt: { lt: before } }, select: { sha256: true }, distinct: ['sha256'] });
  let expired = 0;
  for (const { sha256 } of stale) {
    // Under the blob's lock, so an import that already read the upload finishes first.
    expired += await prisma.$transaction(async (tx) => {
      await lockBlob(tx, sha256, 'exclusive');
      return (await tx.upload.deleteMany({ where: { sha256, state: 'pending', createdAt: { lt: before } } })).count;
    });
  }
  return expired;
}

export async function collectGarbage(prisma: PrismaClient, store: CollectableStore, opts: BlobGcOptions): Promise<BlobGcResult> {
  const now = opts.now ?? new Date();
  const expiredUploads = await expireUploads(prisma, new Date(now.getTime() - opts.uploadGraceMs));
  const cutoff = await collectionCutoff(prisma, now, opts.graceMs);
  const deletedBlobs: string[] = [];
  let deletedBytes = 0;
  let keptReferenced = 0;
  for await (const blob of store.list()) {
    if (blob.writtenAt.getTime() >= cutoff.getTime()) continue;
    const decision = await deleteBlobIfUnreferenced(prisma, store, blob.sha256, cutoff);
    if (decision.deleted) {
      deletedBlobs.push(blob.sha256);
      deletedBytes += blob.bytes;
    } else if (Object.values(decision.references).some((n) => n > 0)) {
      keptReferenced++;
    }
  }
  const tempFilesRemoved = await store.removeTempOlderThan(new Date(now.getTime() - opts.graceMs));
  return { expiredUploads, deletedBlobs, deletedBytes, keptReferenced, tempFilesRemoved, cutoff };
}
