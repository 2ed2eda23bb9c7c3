/**
 * `npm run gc`: one garbage collection of stored bytes now (workers also run it every
 * BLOB_GC_INTERVAL_MS). Same settings as the worker: DATABASE_URL (else the embedded
 * Postgres), the artifact store (ARTIFACT_STORE, ARTIFACTS_DIR or S3_*), BLOB_GC_GRACE_MS, UPLOAD_GRACE_MS. Safe while the platform runs.
 */
import { artifactStoreConfigFromEnv, createArtifactStore } from '@distillery/artifacts';
import { collectGarbage, createPrismaClient, resolveDatabase } from '@distillery/db';
import { workerConfigFromEnv } from '@distillery/workers';

const config = workerConfigFromEnv();
const db = await resolveDatabase({ databaseUrl: config.databaseUrl, log: (m) => console.error(m) });
const prisma = createPrismaClient(db.url);
try {
  const store = createArtifactStore(artifactStoreConfigFromEnv());
  const r = await collectGarbage(prisma, store, { graceMs: config.blobGc.graceMs, uploadGraceMs: config.blobGc.uploadGraceMs });
  console.log(
    `deleted ${r.deletedBlobs.length} unreferenced blobs (${r.deletedBytes} bytes), dropped ${r.expiredUploads} uploads never imported, ` +
      `removed ${r.tempFilesRemoved} stale temp files; kept ${r.keptReferenced} referenced blobs; blobs written after ${r.cutoff.toISOString()} were not considered`,
  );
} finally {
  await prisma.$disconnect();
  await db.stop();
}
