import { createRun, transitionRun, type Prisma } from '@distillery/db';
import { z } from 'zod';
import { auditedTransaction } from '../audit-log';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, conflict, forbidden, parseInput } from '../errors';
import { ingestPoints, RunNotOpenError, type IngestPoint } from '../metric-ingest';
import { nameSchema, unsafeCharacters } from '../names';
import { runDocument } from '../run-documents';
import type { ResolverMap } from './resolver-types';

export const MAX_POINTS_PER_CALL = 10_000;
const MAX_KEY = 200;
const MAX_NAME = 200;
const MAX_PARAMS_BYTES = 64 * 1024;
const MAX_ERROR_CHARS = 2000;

const RunNameSchema = nameSchema(200);
const UuidSchema = z.uuid('not a valid id');
// A lone UTF-16 surrogate is not text: Postgres refuses it, so it is refused here with the point named.
const LONE_SURROGATE = /\p{Cs}/u;

/** Recipes of runs made elsewhere: no steps, the client's name and params. */
export function isExternalRecipe(recipe: unknown): boolean {
  return recipe !== null && typeof recipe === 'object' && (recipe as { external?: unknown }).external === true;
}

interface PointInput {
  key: string;
  name: string;
  step?: number | null;
  value: number;
  time?: Date | null;
}

function checkPoints(points: PointInput[]): IngestPoint[] {
  if (points.length > MAX_POINTS_PER_CALL) throw badInput('points', `at most ${MAX_POINTS_PER_CALL} points per call (got ${points.length}); split the batch`);
  return points.map((p, i) => {
    if (!p.key || p.key.length > MAX_KEY) throw badInput(`points[${i}].key`, `must be 1 to ${MAX_KEY} characters`);
    if (!p.name || p.name.length > MAX_NAME) throw badInput(`points[${i}].name`, `must be 1 to ${MAX_NAME} characters`);
    const unsafe = unsafeCharacters(p.key) ?? unsafeCharacters(p.name);
    if (unsafe) throw badInput(`points[${i}]`, `key and name ${unsafe}`);
    if (LONE_SURROGATE.test(p.key) || LONE_SURROGATE.test(p.name)) throw badInput(`points[${i}]`, 'key and name must be valid Unicode (a lone UTF-16 surrogate is not)');
    return { key: p.key, name: p.name, step: p.step ?? null, value: p.value, time: p.time ?? null };
  });
}

export const ingestResolvers: ResolverMap = {
  Mutation: {
    async createExternalRun(_: unknown, args: { projectId: string; baseModelId: string; name: string; params?: unknown }, ctx: ApiContext) {
      const { teamId, viewer } = await authorize(ctx, { projectId: args.projectId }, 'write');
      const baseModelId = parseInput(UuidSchema, args.baseModelId, 'baseModelId');
      const name = parseInput(RunNameSchema, args.name, 'name');
      const params = args.params ?? {};
      if (params === null || typeof params !== 'object' || Array.isArray(params)) throw badInput('params', 'must be an object of settings');
      if (JSON.stringify(params).length > MAX_PARAMS_BYTES) throw badInput('params', `at most ${MAX_PARAMS_BYTES} bytes of JSON`);
      const base = await ctx.prisma.model.findUnique({ where: { id: baseModelId }, select: { teamId: true, projectId: true } });
      if (!base || base.teamId !== teamId || (base.projectId !== null && base.projectId !== args.projectId)) {
        throw badInput('baseModelId', "no such model in this project (or shared across the project's team)");
      }
      const now = new Date();
      // Through the run lifecycle: created queued, then running at once (nothing executes it).
      return auditedTransaction(ctx, async (tx) => {
        const created = await createRun(tx, {
          data: {
            projectId: args.projectId,
            baseModelId,
            recipe: { external: true, name, steps: [], params } as Prisma.InputJsonValue,
            seed: 0,
            createdById: viewer.userId,
          },
          steps: [],
        });
        return (await transitionRun(tx, created.id, 'running', { status: ['queued'] }, { startedAt: now, progressMessage: 'external run: metrics arrive through logMetrics' }))!;
      });
    },
    async logMetrics(_: unknown, args: { runId: string; points: PointInput[] }, ctx: ApiContext) {
      await authorize(ctx, { runId: args.runId }, 'write');
      const run = await ctx.loaders.run.load(args.runId);
      if (!run) throw forbidden();
      if (!isExternalRecipe(await runDocument(run, 'recipe', ctx))) throw conflict('only external runs (createExternalRun) take logged metrics; Distillery runs record their own');
      try {
        const points = checkPoints(args.points);
        return await auditedTransaction(ctx, (tx) => ingestPoints(tx, run.id, points));
      } catch (e) {
        if (e instanceof RunNotOpenError) throw conflict(`run ${run.id} is ${e.status}: a finished run takes no more metrics`);
        throw e;
      }
    },
    async finishExternalRun(_: unknown, args: { runId: string; status: 'succeeded' | 'failed'; error?: string | null }, ctx: ApiContext) {
      await authorize(ctx, { runId: args.runId }, 'write');
      const run = await ctx.loaders.run.load(args.runId);
      if (!run) throw forbidden();
      if (!isExternalRecipe(await runDocument(run, 'recipe', ctx))) throw conflict('only external runs (createExternalRun) are finished by their client; Distillery finishes its own');
      const error = args.error ?? null;
      if (args.status === 'failed' && !error?.trim()) throw badInput('error', 'a failed run needs the error that stopped it');
      if (args.status === 'succeeded' && error !== null) throw badInput('error', 'a succeeded run has no error');
      if (error !== null && error.length > MAX_ERROR_CHARS) throw badInput('error', `at most ${MAX_ERROR_CHARS} characters`);
      return auditedTransaction(ctx, async (tx) => {
        const finished = await transitionRun(tx, run.id, args.status, { status: ['running'] }, { finishedAt: new Date(), error, progress: 1, progressMessage: `external run ${args.status}` });
        if (finished) return finished;
        const now = await tx.run.findUnique({ where: { id: run.id }, select: { status: true } });
        throw conflict(`run ${run.id} is already ${now?.status ?? 'gone'}: it cannot be finished again`);
      });
    },
  },
};
