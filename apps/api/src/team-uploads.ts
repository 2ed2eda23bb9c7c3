/**
 * Stored bytes as a team owns them: an upload is recorded for the team (and user) that
 * sent it, counted against the team's quota, and is what later lets the team name its
 * hash. `teamHoldsBlob` is the only test of "may this team use these bytes": an upload
 * of them, or a model (or a model's tokenizer) of its own. Another team's hash and a hash
 * that was never stored answer the same, so nothing can be learned about other teams.
 */
import type { Prisma, PrismaClient } from '@distillery/db';
import { lockBlob } from '@distillery/db';

type Tx = Prisma.TransactionClient;

export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  readonly code = 'QUOTA_EXCEEDED';
  constructor(
    readonly usedBytes: number,
    readonly incomingBytes: number,
    readonly limitBytes: number,
    /** The upload was cut off at the limit, so its full size is unknown. */
    atLeast = false,
  ) {
    super(
      `the team's upload quota is exceeded: ${usedBytes} bytes stored + ${atLeast ? 'more than ' : ''}${incomingBytes} bytes in this upload > limit of ${limitBytes} bytes (TEAM_UPLOAD_QUOTA_BYTES); delete uploads or models, or ask for a larger quota`,
    );
  }
}

/** Bytes of the team's uploads (what the quota counts). */
export async function uploadBytesUsed(db: Tx | PrismaClient, teamId: string): Promise<number> {
  const r = await db.upload.aggregate({ where: { teamId }, _sum: { bytes: true } });
  return Number(r._sum.bytes ?? 0n);
}

/** Throws QuotaExceededError when `incoming` more bytes would pass the limit (0 = none). */
export function checkQuota(usedBytes: number, incomingBytes: number, limitBytes: number): void {
  if (limitBytes > 0 && usedBytes + incomingBytes > limitBytes) throw new QuotaExceededError(usedBytes, incomingBytes, limitBytes);
}

export interface RecordUpload {
  teamId: string;
  userId: string | null;
  sha256: string;
  bytes: number;
  quotaBytes: number;
}

/**
 * Records stored bytes as the team's upload, under the team's quota. The same bytes
 * uploaded again by the same team count once. Returns false when the blob is gone by the
 * time the row exists (a deletion raced with the upload; the caller asks for a retry).
 */
export async function recordUpload(prisma: PrismaClient, store: { size(sha256: string): Promise<number | null> }, u: RecordUpload): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    await lockBlob(tx, u.sha256, 'shared');
    // One quota decision per team at a time, so concurrent uploads cannot both slip under it.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`upload-quota:${u.teamId}`}, 0))`;
    const existing = await tx.upload.findUnique({ where: { teamId_sha256: { teamId: u.teamId, sha256: u.sha256 } } });
    if (!existing) {
      checkQuota(await uploadBytesUsed(tx, u.teamId), u.bytes, u.quotaBytes);
      await tx.upload.create({ data: { teamId: u.teamId, userId: u.userId, sha256: u.sha256, bytes: BigInt(u.bytes) } });
    }
    return (await store.size(u.sha256)) === u.bytes;
  });
}

/** Whether the team may name these bytes: its upload, its model, or its model's tokenizer. */
export async function teamHoldsBlob(tx: Tx, teamId: string, sha256: string): Promise<boolean> {
  if ((await tx.upload.count({ where: { teamId, sha256 } })) > 0) return true;
  if ((await tx.model.count({ where: { teamId, sha256, status: 'ready' } })) > 0) return true;
  return (await tx.model.count({ where: { teamId, status: 'ready', tokenizer: { sha256 } } })) > 0;
}
