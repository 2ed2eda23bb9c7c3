import type { Model } from '@distillery/db';
import { ArtifactTooLargeError, isSha256, readArtifact, type PutResult } from '@distillery/artifacts';
import { serializeModel } from '@distillery/onnx';
import { fromTokenizerJson } from '@distillery/nn';
import type { Prisma } from '@distillery/db';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput } from '../errors';
import { nameSchema } from '../names';
import { ImportPathError, resolveImportPath } from '../import-path';
import { checkModel, decodeForImport, ModelRejectedError, type ModelSummary } from '../model-validation';
import type { ResolverMap } from './resolver-types';

const ModelNameSchema = nameSchema(200);

/** Delete a blob nothing refers to, so a rejected upload leaves nothing behind. */
async function discardIfUnreferenced(ctx: ApiContext, sha256: string): Promise<void> {
  const [models, artifacts] = await Promise.all([
    ctx.prisma.model.count({ where: { sha256 } }),
    ctx.prisma.artifact.count({ where: { sha256 } }),
  ]);
  // Content addressing makes this safe against concurrent uploads of the same bytes:
  // identical bytes fail validation identically, so no import can be waiting on them.
  if (models === 0 && artifacts === 0) await ctx.store.delete(sha256);
}

function validated(bytes: Uint8Array, dir: string | undefined, field: string) {
  try {
    const { model, usesExternalData } = decodeForImport(bytes, dir);
    return { model, usesExternalData, summary: checkModel(model) };
  } catch (e) {
    if (e instanceof ModelRejectedError) throw badInput(field, `not a usable ONNX model: ${e.message}`);
    throw e;
  }
}

const MAX_TOKENIZER_BYTES = 64 * 2 ** 20;

/** Check that bytes are a tokenizer.json we can encode with; the error names `field`. */
function checkTokenizer(bytes: Uint8Array, field: string): void {
  try {
    fromTokenizerJson(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (e) {
    throw badInput(field, `not a usable tokenizer.json: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The tokenizer.json of a model file in a model folder: beside it, or above its onnx/ folder. */
async function findTokenizerBeside(modelFile: string): Promise<Buffer | undefined> {
  const dir = path.dirname(modelFile);
  const candidates = [path.join(dir, 'tokenizer.json')];
  if (path.basename(dir) === 'onnx') candidates.push(path.join(dir, '..', 'tokenizer.json'));
  for (const c of candidates) {
    try {
      return await readFile(c);
    } catch {
      // not there: try the next place
    }
  }
  return undefined;
}

async function createModelRow(
  ctx: ApiContext,
  projectId: string,
  teamId: string,
  name: string,
  stored: PutResult,
  summary: ModelSummary,
  tokenizerSha256?: string,
): Promise<Model> {
  // The worker reads config.tokenizerSha256 to score perplexity with the model's own tokenizer.
  const config: Prisma.InputJsonValue | undefined = tokenizerSha256 ? { tokenizerSha256 } : undefined;
  const row = await ctx.prisma.model.create({
    data: {
      teamId,
      projectId,
      name,
      format: 'onnx',
      sha256: stored.sha256,
      bytes: BigInt(stored.bytes),
      parameterCount: BigInt(summary.parameterCount),
      storagePath: stored.path,
      config,
    },
  });
  ctx.log.info({ modelId: row.id, sha256: stored.sha256, parameterCount: summary.parameterCount }, 'model imported');
  return row;
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
    async importModel(_: unknown, args: { projectId: string; name: string; sha256: string; tokenizerSha256?: string | null }, ctx: ApiContext) {
      const { teamId } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const name = parseInput(ModelNameSchema, args.name, 'name');
      const sha256 = args.sha256.trim().toLowerCase();
      if (!isSha256(sha256)) throw badInput('sha256', 'expected 64 hex digits, as returned by POST /upload');
      const size = await ctx.store.size(sha256);
      if (size === null) throw badInput('sha256', 'nothing was uploaded with this hash; POST the bytes to /upload first');
      let bytes: Buffer;
      try {
        bytes = await readArtifact(ctx.store, sha256, ctx.config.maxUploadBytes);
      } catch (e) {
        if (e instanceof ArtifactTooLargeError) throw badInput('sha256', e.message);
        throw e;
      }
      let summary: ModelSummary;
      try {
        summary = validated(bytes, undefined, 'sha256').summary;
      } catch (e) {
        await discardIfUnreferenced(ctx, sha256);
        throw e;
      }
      let tokenizerSha256: string | undefined;
      if (args.tokenizerSha256) {
        tokenizerSha256 = args.tokenizerSha256.trim().toLowerCase();
        if (!isSha256(tokenizerSha256)) throw badInput('tokenizerSha256', 'expected 64 hex digits, as returned by POST /upload');
        if ((await ctx.store.size(tokenizerSha256)) === null) throw badInput('tokenizerSha256', 'nothing was uploaded with this hash');
        checkTokenizer(await readArtifact(ctx.store, tokenizerSha256, MAX_TOKENIZER_BYTES), 'tokenizerSha256');
      }
      // The stored path and size come from the store, never from the client.
      const stored: PutResult = { sha256, bytes: size, path: ctx.store.path?.(sha256) ?? sha256 };
      return createModelRow(ctx, args.projectId, teamId, name, stored, summary, tokenizerSha256);
    },
    async importModelFromPath(_: unknown, args: { projectId: string; name: string; path: string }, ctx: ApiContext) {
      const { teamId } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const name = parseInput(ModelNameSchema, args.name, 'name');
      let file: string;
      try {
        file = await resolveImportPath(ctx.config.importRoot, args.path);
      } catch (e) {
        if (e instanceof ImportPathError) throw badInput('path', e.message);
        throw e;
      }
      const bytes = await readFile(file);
      const { model, usesExternalData, summary } = validated(bytes, path.dirname(file), 'path');
      // The store holds single files: a model with side files is stored with its weights inline.
      const tokenizer = await findTokenizerBeside(file);
      if (tokenizer) checkTokenizer(tokenizer, 'path');
      const stored = usesExternalData ? await ctx.store.put(serializeModel(model).model) : await ctx.store.put(bytes);
      const tokenizerSha256 = tokenizer ? (await ctx.store.put(tokenizer)).sha256 : undefined;
      return createModelRow(ctx, args.projectId, teamId, name, stored, summary, tokenizerSha256);
    },
  },
  Model: {
    bytes: (m: Model) => Number(m.bytes),
    parameterCount: (m: Model) => Number(m.parameterCount),
    async team(m: Model, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: m.teamId }, 'read');
      return ctx.prisma.team.findUniqueOrThrow({ where: { id: m.teamId } });
    },
    async project(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.projectId) return null;
      await authorize(ctx, { projectId: m.projectId }, 'read');
      return ctx.prisma.project.findUnique({ where: { id: m.projectId } });
    },
    async parent(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.parentId) return null;
      const parent = await ctx.prisma.model.findUnique({ where: { id: m.parentId } });
      if (!parent) return null;
      await authorize(ctx, { teamId: parent.teamId }, 'read');
      return parent;
    },
    async producedByRun(m: Model, _: unknown, ctx: ApiContext) {
      if (!m.producedByRunId) return null;
      await authorize(ctx, { runId: m.producedByRunId }, 'read');
      return ctx.prisma.run.findUnique({ where: { id: m.producedByRunId } });
    },
  },
};
