/**
 * Model imports handed to the workers: a graphile-worker job named `import-model`, keyed
 * by model, written in the transaction that creates the Model row. Runs are queued
 * through @distillery/experiments (createQueuedRun), which the sweep engine shares.
 */
import type { FolderFile } from '@distillery/artifacts';
import type { Prisma } from '@distillery/db';

export const IMPORT_MODEL_TASK = 'import-model';
export const IMPORT_JOB_MAX_ATTEMPTS = 3;

/**
 * A model import for the workers (decoding and validation never happen in the API).
 * `sourceDir`: the folder of a server-side import, where external data files may be.
 * `configSha256`: the uploaded config.json that goes with an uploaded model.safetensors.
 * `files`: the folder's further uploaded files (shards), by name.
 */
export async function enqueueModelImport(tx: Prisma.TransactionClient, modelId: string, from: { sourceDir?: string; configSha256?: string; files?: FolderFile[] } = {}): Promise<void> {
  const payload = JSON.stringify({
    modelId,
    ...(from.sourceDir === undefined ? {} : { sourceDir: from.sourceDir }),
    ...(from.configSha256 === undefined ? {} : { configSha256: from.configSha256 }),
    ...(from.files === undefined ? {} : { files: from.files }),
  });
  await tx.$executeRaw`SELECT graphile_worker.add_job(${IMPORT_MODEL_TASK}::text, ${payload}::json, job_key := ${`import:${modelId}`}::text, max_attempts := ${IMPORT_JOB_MAX_ATTEMPTS}::int)`;
}
