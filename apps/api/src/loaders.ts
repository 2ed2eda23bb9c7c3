/**
 * Per-request DataLoaders: nested fields of a list (a run's project, base model, steps,
 * metrics, output model) are collected within one tick and fetched with one query per
 * kind, so a page of N runs costs a constant number of queries, not N per field.
 */
import DataLoader from 'dataloader';
import type { Artifact, Model, PrismaClient, Project, Run, RunStep, Team } from '@distillery/db';
import { OMIT_RUN_DOCUMENTS, type RunDocuments, type RunParent } from './run-documents';

export interface MetricRow {
  runId: string;
  name: string;
  value: number;
  step: number | null;
  runStepId: string | null;
  createdAt: Date;
}

export interface Loaders {
  /** Runs without their documents (read those through runDocuments). */
  run: DataLoader<string, RunParent | null>;
  runDocuments: DataLoader<string, RunDocuments | null>;
  project: DataLoader<string, Project | null>;
  team: DataLoader<string, Team | null>;
  model: DataLoader<string, Model | null>;
  stepsOfRun: DataLoader<string, RunStep[]>;
  latestMetricsOfRun: DataLoader<string, MetricRow[]>;
  outputModelOfRun: DataLoader<string, Model | null>;
  artifactsOfRun: DataLoader<string, Artifact[]>;
}

function byId<T extends { id: string }>(ids: readonly string[], rows: T[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

function groupBy<T>(ids: readonly string[], rows: T[], keyOf: (r: T) => string): T[][] {
  const map = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const r of rows) map.get(keyOf(r))?.push(r);
  return ids.map((id) => map.get(id) ?? []);
}

/** The latest value of every metric of the given runs (one query for all of them). */
export function latestMetrics(prisma: PrismaClient, runIds: readonly string[]): Promise<MetricRow[]> {
  return prisma.$queryRaw<MetricRow[]>`
    SELECT DISTINCT ON ("runId", name) "runId"::text AS "runId", name, value, step, "runStepId"::text AS "runStepId", "createdAt"
    FROM "Metric" WHERE "runId" = ANY(${[...runIds]}::uuid[])
    ORDER BY "runId", name, "createdAt" DESC, id DESC`;
}

export function createLoaders(prisma: PrismaClient): Loaders {
  return {
    run: new DataLoader(async (ids) => byId(ids, await prisma.run.findMany({ where: { id: { in: [...ids] } }, omit: OMIT_RUN_DOCUMENTS }))),
    runDocuments: new DataLoader(async (ids) =>
      byId(ids, await prisma.run.findMany({ where: { id: { in: [...ids] } }, select: { id: true, recipe: true, evaluation: true, provenance: true } })),
    ),
    project: new DataLoader(async (ids) => byId(ids, await prisma.project.findMany({ where: { id: { in: [...ids] } } }))),
    team: new DataLoader(async (ids) => byId(ids, await prisma.team.findMany({ where: { id: { in: [...ids] } } }))),
    model: new DataLoader(async (ids) => byId(ids, await prisma.model.findMany({ where: { id: { in: [...ids] } } }))),
    stepsOfRun: new DataLoader(async (ids) =>
      groupBy(ids, await prisma.runStep.findMany({ where: { runId: { in: [...ids] } }, orderBy: [{ runId: 'asc' }, { index: 'asc' }] }), (s) => s.runId),
    ),
    latestMetricsOfRun: new DataLoader(async (ids) => groupBy(ids, await latestMetrics(prisma, ids), (m) => m.runId)),
    outputModelOfRun: new DataLoader(async (ids) => {
      const rows = await prisma.model.findMany({ where: { producedByRunId: { in: [...ids] } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      // The newest model of each run is its final output (the last step's).
      return groupBy(ids, rows, (m) => m.producedByRunId!).map((ms) => ms[0] ?? null);
    }),
    artifactsOfRun: new DataLoader(async (ids) =>
      groupBy(ids, await prisma.artifact.findMany({ where: { runId: { in: [...ids] } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }), (a) => a.runId!),
    ),
  };
}
