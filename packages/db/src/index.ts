export { createPrismaClient, resolveDatabase, type PrismaClientOptions, type ResolveDatabaseOptions, type ResolvedDatabase } from './client.ts';
export { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.ts';
export {
  migrate,
  migrationChecksum,
  MigrationError,
  readMigrations,
  type MigrateOptions,
  type MigrateResult,
  type MigrationFile,
} from './migrate.ts';
export { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './test-database.ts';
// The generated client: PrismaClient, the Prisma namespace, enums and model types.
export * from './generated/client.ts';
export {
  blobReferences,
  deleteBlobIfUnreferenced,
  lockBlob,
  totalReferences,
  type BlobReferenceKind,
  type BlobReferences,
  type BlobRemover,
  type DeleteDecision,
} from './blob-references.ts';
export { collectGarbage, type BlobGcOptions, type BlobGcResult, type CollectableStore } from './blob-gc.ts';
export * from './run-lifecycle/index.ts';
export { tokenizerArtifact, type TokenizerBlob } from './tokenizer-artifacts.ts';
export { latestRunLevelValues } from './run-level-values.ts';
