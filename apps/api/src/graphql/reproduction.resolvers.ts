/**
 * reproduce(runId) and the comparison of a re-run with its original. The verdict is
 * computed when read, from the two runs' metric points (packages/eval reproduction.ts), so
 * it is always that of the rows as they are.
 */
import type { Run } from '@distillery/db';
import { createQueuedRun } from '@distillery/experiments';
import type { Recipe } from '@distillery/techniques';
import { compareRuns, type Tolerance } from '@distillery/eval/reproduction';
import { auditedTransaction } from '../audit-log';
import { authorize } from '../authorization';
import { runDocument, type RunParent } from '../run-documents';
import type { ApiContext } from '../context';
import { badInput, conflict, forbidden } from '../errors';
import type { ResolverMap } from './resolver-types';

interface ProvenanceView {
  codeVersion?: string;
  ortVersion?: string;
  workerThreads?: number;
  evaluationThreads?: number;
}

const provenanceOf = (run: Pick<Run, 'provenance'>): ProvenanceView => (run.provenance !== null && typeof run.provenance === 'object' ? (run.provenance as ProvenanceView) : {});

function toleranceView(t: Tolerance) {
  if (t.kind === 'exact') return { toleranceKind: 'exact', relativeTolerance: null, reason: null };
  if (t.kind === 'relative') return { toleranceKind: 'relative', relativeTolerance: t.value, reason: null };
  return { toleranceKind: 'notCompared', relativeTolerance: null, reason: t.why };
}

async function pointsOf(ctx: ApiContext, runId: string) {
  return ctx.prisma.metric.findMany({ where: { runId }, select: { name: true, step: true, value: true } });
}

export const reproductionResolvers: ResolverMap = {
  Mutation: {
    async reproduce(_: unknown, args: { runId: string }, ctx: ApiContext): Promise<Run> {
      const { viewer } = await authorize(ctx, { runId: args.runId }, 'write');
      const original = await ctx.prisma.run.findUnique({ where: { id: args.runId }, include: { steps: { orderBy: { index: 'asc' } }, baseModel: { select: { status: true } } } });
      if (!original) throw forbidden();
      if (original.status !== 'succeeded') throw conflict(`only a succeeded run can be reproduced (this one is ${original.status})`);
      if (original.baseModel.status !== 'ready') throw badInput('runId', `the run's base model is ${original.baseModel.status}, not ready`);
      // The stored recipe names every seed; with the run seed, the inputs are identical.
      const rerun = await auditedTransaction(ctx, (tx) =>
        createQueuedRun(tx, {
          projectId: original.projectId,
          baseModelId: original.baseModelId,
          recipe: original.recipe as unknown as Recipe,
          seed: original.seed,
          tags: original.tags,
          createdById: viewer.userId,
          recipeId: original.recipeId,
          reproductionOfId: original.id,
        }),
      );
      ctx.log.info({ runId: rerun.id, reproductionOf: original.id }, 'reproduction queued');
      return rerun;
    },
  },
  Run: {
    provenance: (run: RunParent, _: unknown, ctx: ApiContext) => runDocument(run, 'provenance', ctx),
    async reproductionOf(run: Run, _: unknown, ctx: ApiContext) {
      if (!run.reproductionOfId) return null;
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.run.findUnique({ where: { id: run.reproductionOfId } });
    },
    async reproductions(run: Run, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { projectId: run.projectId }, 'read');
      return ctx.prisma.run.findMany({ where: { reproductionOfId: run.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    },
    async reproduction(rerun: RunParent, _: unknown, ctx: ApiContext) {
      if (!rerun.reproductionOfId) return null;
      await authorize(ctx, { projectId: rerun.projectId }, 'read');
      const original = await ctx.prisma.run.findUnique({ where: { id: rerun.reproductionOfId } });
      if (!original) return null;
      const a = provenanceOf(original);
      const b = provenanceOf({ provenance: await runDocument(rerun, 'provenance', ctx) });
      const sameThreads = a.workerThreads === b.workerThreads && a.evaluationThreads === b.evaluationThreads;
      const notes: string[] = [];
      if (a.codeVersion !== b.codeVersion) notes.push(`code versions differ: ${a.codeVersion ?? 'unknown'} and ${b.codeVersion ?? 'unknown'}`);
      if (a.ortVersion !== b.ortVersion) notes.push(`ONNX Runtime versions differ: ${a.ortVersion ?? 'unknown'} and ${b.ortVersion ?? 'unknown'}`);
      const base = { original, rerun, sameThreads, notes };
      if (rerun.status === 'queued' || rerun.status === 'running') return { ...base, verdict: 'pending', compared: 0, outside: 0, metrics: [] };
      if (rerun.status !== 'succeeded') return { ...base, verdict: 'rerunFailed', compared: 0, outside: 0, metrics: [] };
      const report = compareRuns(await pointsOf(ctx, original.id), await pointsOf(ctx, rerun.id), sameThreads);
      return {
        ...base,
        verdict: report.verdict,
        compared: report.compared,
        outside: report.outside,
        metrics: report.metrics.map((m) => ({ name: m.name, step: m.step, original: m.original, rerun: m.rerun, withinTolerance: m.withinTolerance, ...toleranceView(m.tolerance) })),
      };
    },
  },
};
