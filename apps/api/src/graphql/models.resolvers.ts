import type { Artifact, Model } from '@distillery/db';
import { lockBlob, tokenizerArtifact } from '@distillery/db';
import { folderFilesProblem, isSha256, type FolderFile } from '@distillery/artifacts';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { auditedTransaction } from '../audit-log';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput } from '../errors';
import { ImportPathError, resolveImportPath } from '../import-path';
import { importReportOf } from './import-report';
import { nameSchema } from '../names';
import { enqueueModelImport } from '../run-queue';
import { QuotaExceededError, recordUpload, teamHoldsBlob } from '../team-uploads';
import type { ResolverMap } from './resolver-types';

const ModelNameSchema = nameSchema(200);

// One answer for "never stored" and "stored by another team": no existence oracle.
const NOT_UPLOADED = 'nothing was uploaded with this hash by this team; POST the bytes to /upload?teamId=<team id> first';

const MAX_TOKENIZER_BYTES = 64 * 2 ** 20;
// A config.json is a few hundred bytes; this bounds what a worker reads into memory.
const MAX_CONFIG_BYTES = 2 ** 20;

function parseSha(value: string, field: string): string {
  const sha = value.trim().toLowerCase();
  if (!isSha256(sha)) throw badInput(field, 'expected 64 hex digits, as returned by POST /upload');
  return sha;
}

/** The tokenizer.json of a model file in a model folder: beside it, or above its onnx/ folder. */
async function findTokenizerBeside(modelFile: string): Promise<string | undefined> {
  const dir = path.dirname(modelFile);
  const candidates = [path.join(dir, 'tokenizer.json')];
  if (path.basename(dir) === 'onnx') candidates.push(path.join(dir, '..', 'tokenizer.json'));
  for (const c of candidates) {
    try {
      if ((await stat(c)).isFile()) return c;
    } catch {
      // not there: try the next place
    }
  }
  return undefined;
}

interface ImportRequest {
  projectId: string;
  teamId: string;
  name: string;
  sha256: string;
  tokenizerSha256?: string;
  /** The uploaded config.json of a safetensors upload. */
  configSha256?: string;
  /** Further uploaded files of that folder (the shards a model.safetensors.index.json names). */
  files?: FolderFile[];
  sourceDir?: string;
}

/**
 * The Model row in state `importing` and its worker job, in one transaction under the
 * blobs' shared locks (so the garbage collector cannot take the bytes in between). The
 * worker decodes, validates and marks it ready or failed.
 */
async function requestImport(ctx: ApiContext, r: ImportRequest): Promise<Model> {
  const row = await auditedTransaction(ctx, async (tx) => {
    await lockBlob(tx, r.sha256, 'shared');
    if (!(await teamHoldsBlob(tx, r.teamId, r.sha256))) throw badInput('sha256', NOT_UPLOADED);
    let tokenizerId: string | undefined;
    if (r.tokenizerSha256 !== undefined) {
      await lockBlob(tx, r.tokenizerSha256, 'shared');
      if (!(await teamHoldsBlob(tx, r.teamId, r.tokenizerSha256))) throw badInput('tokenizerSha256', NOT_UPLOADED);
      const tokBytes = await ctx.store.size(r.tokenizerSha256);
      if (tokBytes === null) throw badInput('tokenizerSha256', NOT_UPLOADED);
      if (tokBytes > MAX_TOKENIZER_BYTES) throw badInput('tokenizerSha256', `a tokenizer.json is at most ${MAX_TOKENIZER_BYTES} bytes (this one has ${tokBytes})`);
      // The worker scores perplexity with the model's own tokenizer, found through this reference.
      const tokenizer = await tokenizerArtifact(tx, { teamId: r.teamId, sha256: r.tokenizerSha256, bytes: tokBytes, storagePath: ctx.store.location(r.tokenizerSha256) });
      tokenizerId = tokenizer.id;
    }
    if (r.configSha256 !== undefined) {
      await lockBlob(tx, r.configSha256, 'shared');
      if (!(await teamHoldsBlob(tx, r.teamId, r.configSha256))) throw badInput('configSha256', NOT_UPLOADED);
      const configBytes = await ctx.store.size(r.configSha256);
      if (configBytes === null) throw badInput('configSha256', NOT_UPLOADED);
      if (configBytes > MAX_CONFIG_BYTES) throw badInput('configSha256', `a config.json is at most ${MAX_CONFIG_BYTES} bytes (this one has ${configBytes})`);
    }
    for (const f of r.files ?? []) {
      await lockBlob(tx, f.sha256, 'shared');
      if (!(await teamHoldsBlob(tx, r.teamId, f.sha256)) || (await ctx.store.size(f.sha256)) === null) throw badInput('files', `${f.name}: ${NOT_UPLOADED}`);
    }
    // The team's own bytes: saying they are missing reveals nothing about other teams.
    const size = await ctx.store.size(r.sha256);
    if (size === null) throw badInput('sha256', NOT_UPLOADED);
    const model = await tx.model.create({
      data: {
        teamId: r.teamId,
        projectId: r.projectId,
        name: r.name,
        format: 'onnx',
        status: 'importing',
        sha256: r.sha256,
        bytes: BigInt(size),
        // Known once the worker has decoded the model.
        parameterCount: 0n,
        // The stored path and size come from the store, never from the client.
        storagePath: ctx.store.location(r.sha256),
        tokenizerId,
      },
    });
    await enqueueModelImport(tx, model.id, { sourceDir: r.sourceDir, configSha256: r.configSha256, files: r.files });
    return model;
  });
  ctx.log.info({ modelId: row.id, sha256: r.sha256, tokenizerSha256: r.tokenizerSha256, configSha256: r.configSha256, files: r.files?.length ?? 0 }, 'model import queued');
  return row;
}

/** Stores a server-side file as the team's upload (streamed, never decoded here). */
async function storeServerFile(ctx: ApiContext, teamId: string, userId: string, file: string): Promise<string> {
  const stored = await ctx.store.putFile(file, { maxBytes: ctx.config.maxUploadBytes });
  try {
    await recordUpload(ctx.prisma, ctx.store, { teamId, userId, sha256: stored.sha256, bytes: stored.bytes, quotaBytes: ctx.config.teamUploadQuotaBytes });
  } catch (e) {
    if (e instanceof QuotaExceededError) throw badInput('path', e.message);
    throw e;
  }
  return stored.sha256;
}

export const modelsResolvers: ResolverMap = {
  Query: {
    async models(_: unknown, args: { projectId: string }, ctx: ApiContext): Promise<Model[]> {
      const { teamId } = await authorize(ctx, { projectId: args.projectId }, 'read');
      return ctx.prisma.model.findMany({
        where: { teamId, OR: [{ projectId: args.projectId }, { projectId: null }] },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
    },
    async model(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Model> {
      await authorize(ctx, { modelId: args.id }, 'read');
      const m = await ctx.prisma.model.findUnique({ where: { id: args.id } });
      if (!m) throw forbidden();
      return m;
    },
  },
  Mutation: {
    async importModel(
      _: unknown,
      args: { projectId: string; name: string; sha256: string; tokenizerSha256?: string | null; configSha256?: string | null; files?: { name: string; sha256: string }[] | null },
      ctx: ApiContext,
    ) {
      const { teamId } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const name = parseInput(ModelNameSchema, args.name, 'name');
      const sha256 = parseSha(args.sha256, 'sha256');
      const tokenizerSha256 = args.tokenizerSha256 ? parseSha(args.tokenizerSha256, 'tokenizerSha256') : undefined;
      const configSha256 = args.configSha256 ? parseSha(args.configSha256, 'configSha256') : undefined;
      const files = args.files?.map((f) => ({ name: f.name, sha256: f.sha256.trim().toLowerCase() }));
      if (files !== undefined && files.length > 0) {
        if (configSha256 === undefined) throw badInput('files', 'further files belong to an uploaded Hugging Face folder: name its config.json with configSha256 too');
        const problem = folderFilesProblem(files);
        if (problem !== null) throw badInput('files', problem);
      }
      return requestImport(ctx, { projectId: args.projectId, teamId, name, sha256, tokenizerSha256, configSha256, files: files?.length ? files : undefined });
    },
    async importModelFromPath(_: unknown, args: { projectId: string; name: string; path: string }, ctx: ApiContext) {
      const { teamId, viewer } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const name = parseInput(ModelNameSchema, args.name, 'name');
      let file: string;
      try {
        file = await resolveImportPath(ctx.config.importRoot, args.path);
      } catch (e) {
        if (e instanceof ImportPathError) throw badInput('path', e.message);
        throw e;
      }
      const sha256 = await storeServerFile(ctx, teamId, viewer.userId, file);
      const tokenizerFile = await findTokenizerBeside(file);
      if (tokenizerFile !== undefined && (await stat(tokenizerFile)).size > MAX_TOKENIZER_BYTES) {
        throw badInput('path', `${path.basename(tokenizerFile)} beside the model is larger than ${MAX_TOKENIZER_BYTES} bytes`);
      }
      const tokenizerSha256 = tokenizerFile === undefined ? undefined : await storeServerFile(ctx, teamId, viewer.userId, tokenizerFile);
      // External data files stay where they are: the worker reads them from the model's folder.
      return requestImport(ctx, { projectId: args.projectId, teamId, name, sha256, tokenizerSha256, sourceDir: path.dirname(file) });
    },
  },
  Model: {
    bytes: (m: Model) => Number(m.bytes),
    async tokenizer(m: Model, _: unknown, ctx: ApiContext): Promise<Artifact | null> {
      if (!m.tokenizerId) return null;
      await authorize(ctx, { teamId: m.teamId }, 'read');
      return ctx.prisma.artifact.findUnique({ where: { id: m.tokenizerId } });
    },
    importReport: (m: Model) => importReportOf(m.config),
    parameterCount: (m: Model) => Number(m.parameterCount),
    async team(m: Model, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: m.teamId }, 'read');
      return ctx.loaders.team.load(m.teamId);
    },
    async project(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.projectId) return null;
      await authorize(ctx, { projectId: m.projectId }, 'read');
      return ctx.loaders.project.load(m.projectId);
    },
    async parent(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.parentId) return null;
      const parent = await ctx.loaders.model.load(m.parentId);
      if (!parent) return null;
      await authorize(ctx, { teamId: parent.teamId }, 'read');
      return parent;
    },
    async producedByRun(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.producedByRunId) return null;
      await authorize(ctx, { runId: m.producedByRunId }, 'read');
      return ctx.loaders.run.load(m.producedByRunId);
    },
  },
};
