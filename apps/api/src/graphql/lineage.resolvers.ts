import type { Model, Run } from '@distillery/db';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden } from '../errors';
import { modelLineage, projectLineage, type LineageGraph } from '../lineage-graph';
import type { ResolverMap } from './resolver-types';

function techniquesOf(run: Run): string {
  const steps = (run.recipe as { steps?: { technique?: unknown }[] } | null)?.steps ?? [];
  const ids = steps.map((s) => String(s.technique ?? '?'));
  return ids.length ? ids.join(' + ') : 'external run';
}

function toGraph(g: LineageGraph) {
  return {
    nodes: [
      ...g.models.map((m: Model) => ({ id: m.id, kind: 'MODEL', label: m.name, status: m.status, model: m, run: null })),
      ...g.runs.map((r: Run) => ({ id: r.id, kind: 'RUN', label: techniquesOf(r), status: r.status, model: null, run: r })),
    ],
    edges: g.edges,
    truncated: g.truncated,
  };
}

export const lineageResolvers: ResolverMap = {
  Query: {
    async lineage(_: unknown, args: { modelId?: string | null; projectId?: string | null }, ctx: ApiContext) {
      if (Boolean(args.modelId) === Boolean(args.projectId)) {
        await ctx.viewer();
        throw badInput('modelId', 'give exactly one of modelId and projectId');
      }
      if (args.modelId) {
        await authorize(ctx, { modelId: args.modelId }, 'read');
        const model = await ctx.loaders.model.load(args.modelId);
        if (!model) throw forbidden();
        return toGraph(await modelLineage(ctx.prisma, model));
      }
      await authorize(ctx, { projectId: args.projectId! }, 'read');
      return toGraph(await projectLineage(ctx.prisma, args.projectId!));
    },
  },
};
