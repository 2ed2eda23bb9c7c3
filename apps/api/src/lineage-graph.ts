/**
 * Lineage as a graph: base model -> run -> derived models, and each derived model's
 * parent (the previous step's output). From a model, the graph is the model's whole
 * family: up to its root (following parents and producing runs), then down level by
 * level, one query per kind and level. From a project, every model and run in it.
 */
import type { Model, PrismaClient, Run } from '@distillery/db';

export type LineageEdgeKind = 'BASE_OF' | 'PRODUCED' | 'PARENT_OF';

export interface LineageGraph {
  models: Model[];
  runs: Run[];
  edges: { from: string; to: string; kind: LineageEdgeKind }[];
  /** True when the node cap stopped the walk. */
  truncated: boolean;
}

export const MAX_LINEAGE_NODES = 2_000;

function edgesOf(models: Model[], runs: Run[]): LineageGraph['edges'] {
  const ids = new Set([...models.map((m) => m.id), ...runs.map((r) => r.id)]);
  const edges: LineageGraph['edges'] = [];
  for (const r of runs) if (ids.has(r.baseModelId)) edges.push({ from: r.baseModelId, to: r.id, kind: 'BASE_OF' });
  for (const m of models) {
    if (m.producedByRunId && ids.has(m.producedByRunId)) edges.push({ from: m.producedByRunId, to: m.id, kind: 'PRODUCED' });
    if (m.parentId && ids.has(m.parentId)) edges.push({ from: m.parentId, to: m.id, kind: 'PARENT_OF' });
  }
  return edges;
}

/** The models a model was derived from, nearest first, up to an imported one (parents, else producing runs' bases). */
export async function ancestorsOf(prisma: PrismaClient, model: Model): Promise<Model[]> {
  const out: Model[] = [];
  const seen = new Set<string>([model.id]);
  let at = model;
  for (;;) {
    let upId = at.parentId;
    if (!upId && at.producedByRunId) upId = (await prisma.run.findUnique({ where: { id: at.producedByRunId }, select: { baseModelId: true } }))?.baseModelId ?? null;
    if (!upId || seen.has(upId) || seen.size > MAX_LINEAGE_NODES) return out;
    const up = await prisma.model.findUnique({ where: { id: upId } });
    if (!up || up.teamId !== model.teamId) return out;
    seen.add(up.id);
    out.push(up);
    at = up;
  }
}

/** The family of one model, within its team. */
export async function modelLineage(prisma: PrismaClient, model: Model): Promise<LineageGraph> {
  const root = (await ancestorsOf(prisma, model)).at(-1) ?? model;
  const models = new Map<string, Model>([[root.id, root]]);
  const runs = new Map<string, Run>();
  let frontier = [root.id];
  let truncated = false;
  while (frontier.length) {
    if (models.size + runs.size > MAX_LINEAGE_NODES) {
      truncated = true;
      break;
    }
    const newRuns = (await prisma.run.findMany({ where: { baseModelId: { in: frontier } } })).filter((r) => !runs.has(r.id));
    for (const r of newRuns) runs.set(r.id, r);
    const children = await prisma.model.findMany({
      where: { teamId: model.teamId, OR: [{ parentId: { in: frontier } }, { producedByRunId: { in: newRuns.map((r) => r.id) } }] },
    });
    frontier = [];
    for (const c of children) {
      if (models.has(c.id)) continue;
      models.set(c.id, c);
      frontier.push(c.id);
    }
  }
  const ms = [...models.values()];
  const rs = [...runs.values()];
  return { models: ms, runs: rs, edges: edgesOf(ms, rs), truncated };
}

/** Every run of a project with its base and output models. */
export async function projectLineage(prisma: PrismaClient, projectId: string): Promise<LineageGraph> {
  const runs = await prisma.run.findMany({ where: { projectId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: MAX_LINEAGE_NODES });
  const models = await prisma.model.findMany({
    where: { OR: [{ projectId }, { id: { in: [...new Set(runs.map((r) => r.baseModelId))] } }] },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: MAX_LINEAGE_NODES,
  });
  return { models, runs, edges: edgesOf(models, runs), truncated: runs.length === MAX_LINEAGE_NODES || models.length === MAX_LINEAGE_NODES };
}
