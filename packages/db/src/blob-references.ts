/**
 * The one place that decides whether a stored blob may be deleted. A blob stays while
 * anything refers to it: a model being imported or ready, such a model's tokenizer
 * (the artifact Model.tokenizerId names), a run artifact, a dataset, or a team's upload.
 * A tokenizer artifact counts only through live models, so a failed import's tokenizer
 * does not keep its bytes.
 * Every deletion of blob bytes goes through `deleteBlobIfUnreferenced`, which re-counts
 * under an exclusive per-blob advisory lock; writers that create a reference from a hash
 * (upload, import) take the same lock shared, so a count and a new reference never
 * interleave. A new table that stores a blob hash must be added to REFERENCES.
 */
import type { Prisma, PrismaClient } from './generated/client.ts';

type Tx = Prisma.TransactionClient;

/** What the decision needs from an artifact store (packages/artifacts implements it). */
export interface BlobRemover {
  deleteIfWrittenBefore(sha256: string, cutoff: Date): Promise<boolean>;
}

export type BlobReferenceKind = 'models' | 'tokenizers' | 'artifacts' | 'datasets' | 'uploads';

// Failed imports refer to nothing: their bytes may go.
const LIVE_MODEL = { in: ['importing', 'ready'] as ('importing' | 'ready')[] };

const REFERENCES: Record<BlobReferenceKind, (tx: Tx, sha256: string) => Promise<number>> = {
  models: (tx, sha256) => tx.model.count({ where: { sha256, status: LIVE_MODEL } }),
  tokenizers: (tx, sha256) => tx.model.count({ where: { status: LIVE_MODEL, tokenizer: { sha256 } } }),
  artifacts: (tx, sha256) => tx.artifact.count({ where: { sha256, kind: { not: 'tokenizer' } } }),
  datasets: (tx, sha256) => tx.dataset.count({ where: { sha256 } }),
  uploads: (tx, sha256) => tx.upload.count({ where: { sha256 } }),
};

export type BlobReferences = Record<BlobReferenceKind, number>;

export async function blobReferences(tx: Tx, sha256: string): Promise<BlobReferences> {
  const kinds = Object.keys(REFERENCES) as BlobReferenceKind[];
  const counts = await Promise.all(kinds.map((k) => REFERENCES[k](tx, sha256)));
  return Object.fromEntries(kinds.map((k, i) => [k, counts[i]!])) as BlobReferences;
}

export function totalReferences(refs: BlobReferences): number {
  return Object.values(refs).reduce((a, b) => a + b, 0);
}

/**
 * Holds the blob's advisory lock until the transaction ends: `shared` while creating a
 * reference from a hash, `exclusive` while deciding a deletion.
 */
export async function lockBlob(tx: Tx, sha256: string, mode: 'shared' | 'exclusive'): Promise<void> {
  if (mode === 'shared') await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(hashtextextended(${`blob:${sha256}`}, 0))`;
  else await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`blob:${sha256}`}, 0))`;
}

export interface DeleteDecision {
  deleted: boolean;
  references: BlobReferences;
}

/**
 * Deletes the blob when nothing refers to it and its bytes were written before `cutoff`
 * (bytes written later belong to a writer that has not recorded its reference yet).
 * `beforeCount` runs first in the same locked transaction (e.g. dropping a failed
 * import's upload), so removing a reference and deciding the deletion are one step.
 */
export async function deleteBlobIfUnreferenced(
  prisma: PrismaClient,
  store: BlobRemover,
  sha256: string,
  cutoff: Date,
  beforeCount?: (tx: Tx) => Promise<void>,
): Promise<DeleteDecision> {
  return prisma.$transaction(
    async (tx) => {
      await lockBlob(tx, sha256, 'exclusive');
      if (beforeCount) await beforeCount(tx);
      const references = await blobReferences(tx, sha256);
      if (totalReferences(references) > 0) return { deleted: false, references };
      return { deleted: await store.deleteIfWrittenBefore(sha256, cutoff), references };
    },
    { timeout: 60_000 },
  );
}
