/**
 * Which model a new run starts from by default: the project's base model, i.e. the one
 * its runs have used most (the latest of them on a tie), or, before any run, the first
 * model imported into the project. Only ready models qualify. Pure.
 */
import type { ModelSummary } from './queries';

export type ModelChoice = Pick<ModelSummary, 'id' | 'name' | 'status' | 'producedByRun'>;

/** The models a run may start from, in the order a picker offers them: imported ones (the usual start) first, then run outputs. */
export function baseModelChoices<M extends ModelChoice>(models: ReadonlyArray<M>): M[] {
  const ready = models.filter((m) => m.status === 'ready');
  return [...ready.filter((m) => !m.producedByRun), ...ready.filter((m) => m.producedByRun)];
}

export function defaultBaseModel(models: ReadonlyArray<ModelSummary>, runBaseModelIds: ReadonlyArray<string>): string | null {
  const ready = models.filter((m) => m.status === 'ready');
  if (ready.length === 0) return null;
  const readyIds = new Set(ready.map((m) => m.id));
  // Runs come newest first: the first id to reach the top count is the latest of the tied.
  const counts = new Map<string, number>();
  let best: string | null = null;
  for (const id of runBaseModelIds) {
    if (!readyIds.has(id)) continue;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const id of runBaseModelIds) {
    if (!readyIds.has(id)) continue;
    if (best === null || counts.get(id)! > counts.get(best)!) best = id;
  }
  if (best) return best;
  const imported = ready.filter((m) => !m.producedByRun);
  const pool = imported.length > 0 ? imported : ready;
  return [...pool].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))[0]!.id;
}
