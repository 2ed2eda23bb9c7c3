/**
 * A team's tokenizer.json as an artifact row that models reference (Model.tokenizerId):
 * one row per team and content, found or created when a model with that tokenizer is
 * imported. Call it under the blob's shared lock (blob-references.ts lockBlob).
 */
import type { Artifact, Prisma } from './generated/client.ts';

export interface TokenizerBlob {
  teamId: string;
  sha256: string;
  bytes: number;
  storagePath: string;
}

export async function tokenizerArtifact(tx: Prisma.TransactionClient, blob: TokenizerBlob): Promise<Artifact> {
  const existing = await tx.artifact.findFirst({ where: { teamId: blob.teamId, kind: 'tokenizer', sha256: blob.sha256, runId: null }, orderBy: { createdAt: 'asc' } });
  if (existing) return existing;
  return tx.artifact.create({
    data: { teamId: blob.teamId, kind: 'tokenizer', sha256: blob.sha256, bytes: BigInt(blob.bytes), storagePath: blob.storagePath },
  });
}
