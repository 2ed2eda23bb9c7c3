/**
 * The `import-model` job: a model row in state `importing` becomes `ready` (parameter
 * count known, bytes validated in a Piscina thread) or `failed` with the reason. The API
 * only stores bytes and queues this; decoding never happens there. A failed import drops
 * the team's pending upload of those bytes and asks blob-references whether the bytes may
 * go, so it never deletes what another model, tokenizer, run or team still uses.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArtifactNotFoundError, folderFilesProblem, MAX_FOLDER_FILES, readArtifact, readArtifactHead, type ArtifactStore, type FolderFile, type PutResult } from '@distillery/artifacts';
import { deleteBlobIfUnreferenced, lockBlob, tokenizerArtifact, type Model, type Prisma, type PrismaClient } from '@distillery/db';
import type { Logger } from 'pino';
import { z } from 'zod';
import { detectFormat, DETECT_BYTES, INDEX_FILE, SINGLE_FILE, type ImportReport } from '@distillery/formats';
import { tokenizerShaOf } from './base-evaluation';
import { FolderFileMissingError, uploadedHfFolder } from './uploaded-hf-folder';
import { CancelFlag } from './cancel-flag';
import { errorMessage } from './run-errors';
import type { ThreadPool } from './thread-pool';

export const IMPORT_MODEL_TASK = 'import-model';

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/);

export const ImportPayloadSchema = z.object({
  modelId: z.uuid(),
  sourceDir: z.string().min(1).optional(),
  configSha256: SHA256.optional(),
  files: z
    .array(z.object({ name: z.string(), sha256: SHA256 }))
    .max(MAX_FOLDER_FILES)
    .refine((files) => folderFilesProblem(files) === null, { message: 'folder files must have plain, distinct names' })
    .optional(),
});

export interface ImportModelDeps {
  prisma: PrismaClient;
  store: ArtifactStore;
  pool: ThreadPool;
  log: Logger;
}

export interface ImportAttempt {
  modelId: string;
  sourceDir?: string;
  /** The uploaded config.json of an uploaded model.safetensors. */
  configSha256?: string;
  /** Further uploaded files of that folder (shards), by name. */
  files?: FolderFile[];
  /** 1-based, as graphile-worker counts it. */
  attempt: number;
  maxAttempts: number;
}

export type ImportOutcome = 'ready' | 'failed' | 'skipped';

const MAX_TOKENIZER_BYTES = 64 * 2 ** 20;
const MAX_CONFIG_BYTES = 2 ** 20;

/** A failure that retrying cannot fix (the bytes are what they are). */
class ImportRejectedError extends Error {
  override name = 'ImportRejectedError';
}

async function readBlob(store: ArtifactStore, sha256: string, what: string, maxBytes?: number): Promise<Buffer> {
  try {
    return await readArtifact(store, sha256, maxBytes);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) throw new ImportRejectedError(`${what} (${sha256}) is missing from the artifact store`);
    throw error;
  }
}

async function readBlobHead(store: ArtifactStore, sha256: string): Promise<Buffer> {
  try {
    return await readArtifactHead(store, sha256, DETECT_BYTES);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) throw new ImportRejectedError(`the uploaded model (${sha256}) is missing from the artifact store`);
    throw error;
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** The row's config plus the decoder's config.json, which createRun's bounds read, and the import report. */
function importedConfig(config: unknown, added: { decoderConfig: Record<string, unknown> | null; importReport: ImportReport }): Prisma.InputJsonValue {
  const kept = config !== null && typeof config === 'object' && !Array.isArray(config) ? { ...(config as Record<string, unknown>) } : {};
  return {
    ...kept,
    ...(added.decoderConfig ? { decoderConfig: added.decoderConfig } : {}),
    importReport: added.importReport,
  } as unknown as Prisma.InputJsonValue;
}

export async function importModel(attempt: ImportAttempt, deps: ImportModelDeps): Promise<ImportOutcome> {
  const { prisma, store, log } = deps;
  const startedAt = new Date();
  const model = await prisma.model.findUnique({ where: { id: attempt.modelId }, include: { tokenizer: { select: { sha256: true } } } });
  if (!model || model.status !== 'importing') {
    log.info({ modelId: attempt.modelId, status: model?.status ?? 'absent' }, 'model import skipped');
    return 'skipped';
  }
  try {
    if (attempt.sourceDir !== undefined && !(await isDirectory(attempt.sourceDir))) {
      // Only the model file travels through the artifact store; a folder import's other files are read in place.
      throw new ImportRejectedError(
        `the server-side import folder ${attempt.sourceDir} is not visible on this worker: server-side imports need MODEL_IMPORT_ROOT mounted at the same path on API and worker machines (or upload the files instead)`,
      );
    }
    // The format comes from the first bytes; a Hugging Face folder is converted from the folder
    // itself, so its (possibly many-GB) file is not read into memory here.
    const head = await readBlobHead(store, model.sha256);
    const format = detectFormat(head, Number(model.bytes)).format;
    const tokenizerSha = tokenizerShaOf(model);
    const tokenizerJson = tokenizerSha === null ? null : (await readBlob(store, tokenizerSha, 'the uploaded tokenizer.json', MAX_TOKENIZER_BYTES)).toString('utf8');
    // An uploaded model.safetensors (or shard index, with its shards) and config.json become a folder, converted like a server-side one.
    const hfUpload = attempt.configSha256 !== undefined && attempt.sourceDir === undefined && (format === 'safetensors' || format === 'safetensors-index');
    // GGUF and llama2.c are converted, and ONNX (or bytes of no known format, which ONNX parsing then refuses) checked,
    // from a scratch copy read tensor by tensor, never from bytes in memory.
    const copyName = format === 'gguf' ? 'model.gguf' : format === 'llama2c' ? 'model.bin' : format === 'onnx' || format === 'unknown' ? 'model.onnx' : null;
    const scratch = hfUpload
      ? await uploadedHfFolder(store, {
          main: { name: format === 'safetensors' ? SINGLE_FILE : INDEX_FILE, sha256: model.sha256 },
          files: attempt.files ?? [],
          configJson: (await readBlob(store, attempt.configSha256!, 'the uploaded config.json', MAX_CONFIG_BYTES)).toString('utf8'),
          tokenizerJson,
        })
      : copyName !== null
        ? await uploadedHfFolder(store, { main: { name: copyName, sha256: model.sha256 }, files: [], configJson: null, tokenizerJson: null })
        : null;
    const sourceDir = hfUpload ? scratch!.dir : attempt.sourceDir;
    const modelFile = copyName !== null ? path.join(scratch!.dir, copyName) : null;
    const fromFolder = sourceDir !== undefined && (format === 'safetensors' || format === 'safetensors-index');
    // A conversion (or an ONNX model with its external data inlined) writes its ONNX file here; it is hashed and stored as a stream, never read whole.
    const out = await mkdtemp(path.join(os.tmpdir(), 'distillery-import-out-'));
    let outcome;
    let stored: PutResult = { sha256: model.sha256, bytes: Number(model.bytes), path: model.storagePath };
    try {
      try {
        const job = { model: exactBuffer(head), modelFile, tokenizerJson, sourceDir: sourceDir ?? null, format, outFile: path.join(out, 'model.onnx') };
        outcome = await deps.pool.importModel(job, { cancel: new CancelFlag(), onProgress: () => {} });
      } finally {
        await scratch?.remove();
      }
      if (!outcome.ok) throw new ImportRejectedError(outcome.message);
      if (outcome.value.modelFile !== null) stored = await store.putFile(outcome.value.modelFile);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    const summary = outcome.value;
    // A conversion's tokenizer (llama2.c's tokenizer.bin as tokenizer.json) becomes the model's when it has none.
    const madeTokenizer = tokenizerSha === null && summary.tokenizerJson !== null ? await store.put(new TextEncoder().encode(summary.tokenizerJson)) : null;
    const ready = await prisma.$transaction(async (tx) => {
      if (stored.sha256 !== model.sha256) await lockBlob(tx, stored.sha256, 'shared');
      let tokenizerId: string | undefined;
      if (madeTokenizer !== null) {
        await lockBlob(tx, madeTokenizer.sha256, 'shared');
        tokenizerId = (await tokenizerArtifact(tx, { teamId: model.teamId, sha256: madeTokenizer.sha256, bytes: madeTokenizer.bytes, storagePath: madeTokenizer.path })).id;
      }
      const updated = await tx.model.updateMany({
        where: { id: model.id, status: 'importing' },
        data: {
          status: 'ready',
          error: null,
          parameterCount: BigInt(summary.parameterCount),
          sha256: stored.sha256,
          bytes: BigInt(stored.bytes),
          storagePath: stored.path,
          config: importedConfig(model.config, { decoderConfig: summary.decoderConfig, importReport: summary.report }),
          ...(tokenizerId ? { tokenizerId } : {}),
        },
      });
      if (updated.count !== 1) return false;
      const used = [stored.sha256, ...(tokenizerSha === null ? [] : [tokenizerSha]), ...(attempt.configSha256 === undefined ? [] : [attempt.configSha256])];
      await tx.upload.updateMany({ where: { teamId: model.teamId, sha256: { in: used } }, data: { state: 'imported' } });
      return true;
    });
    if (!ready) return 'skipped';
    log.info({ modelId: model.id, sha256: stored.sha256, parameterCount: summary.parameterCount, format: summary.report.format, warnings: summary.report.warnings.length }, 'model imported');
    return 'ready';
  } catch (error) {
    const final = error instanceof ImportRejectedError || error instanceof FolderFileMissingError || attempt.attempt >= attempt.maxAttempts;
    if (!final) {
      log.warn({ modelId: model.id, err: error, attempt: attempt.attempt }, 'model import attempt failed; will retry');
      throw error;
    }
    await recordImportFailure(model, errorMessage(error), startedAt, deps);
    return 'failed';
  }
}

async function recordImportFailure(model: Model, message: string, startedAt: Date, deps: ImportModelDeps): Promise<void> {
  const { prisma, store, log } = deps;
  let marked = false;
  // One transaction: whoever sees the model failed also sees its bytes gone (or kept for a reason).
  // Bytes written after this attempt started belong to someone else's upload in flight.
  const decision = await deleteBlobIfUnreferenced(prisma, store, model.sha256, startedAt, async (tx) => {
    marked = (await tx.model.updateMany({ where: { id: model.id, status: 'importing' }, data: { status: 'failed', error: message } })).count === 1;
    const stillUsed = await tx.model.count({ where: { teamId: model.teamId, sha256: model.sha256, status: { in: ['importing', 'ready'] } } });
    if (marked && stillUsed === 0) await tx.upload.deleteMany({ where: { teamId: model.teamId, sha256: model.sha256, state: 'pending' } });
  });
  log.warn({ modelId: model.id, error: message, marked, blobDeleted: decision.deleted, references: decision.references }, 'model import failed');
}
