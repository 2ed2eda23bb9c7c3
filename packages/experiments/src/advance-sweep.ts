/**
 * The sweep engine: under the sweep's row lock, start as many runs as the sweep's
 * parallelism and budget allow (grid order, seeded random draws, or Pareto local search
 * over finished results), and close the sweep once no run is left to start or to wait
 * for. Called by createSweep and then by the `advance-sweep` job, which reschedules
 * itself while the sweep is active (or canceling), so new runs start as earlier ones finish.
 */
import { latestRunLevelValues, Prisma, type PrismaClient, type SweepStatus } from '@distillery/db';
import { metricDirection, type Direction } from '@distillery/eval/pareto';
import { parseRecipe, RecipeError, registry, seedRecipe } from '@distillery/techniques';
import { z } from 'zod';
import { proposeConfigs, type EvaluatedConfig } from './pareto-local-search';
import { stopSweepRuns } from './cancel-sweep';
import { createQueuedRun } from './queued-run';
import {
  applyAssignment,
  assignmentOf,
  discreteSizes,
  gridIndices,
  gridSize,
  indicesOf,
  randomAssignment,
  SweepSpaceSchema,
  type Assignment,
  type Json,
  type SweepSpace,
} from './sweep-space';

export const ADVANCE_SWEEP_TASK = 'advance-sweep';

export const ObjectiveSchema = z.object({
  x: z.string().min(1),
  y: z.string().min(1),
  xLowerIsBetter: z.boolean().nullish(),
  yLowerIsBetter: z.boolean().nullish(),
});
export type Objective = z.output<typeof ObjectiveSchema>;

export function objectiveDirections(o: Objective): [Direction, Direction] {
  const d = (v: boolean | null | undefined): Direction | null => (v === null || v === undefined ? null : v ? 'min' : 'max');
  return [metricDirection(o.x, d(o.xLowerIsBetter)), metricDirection(o.y, d(o.yLowerIsBetter))];
}

export interface AdvanceResult {
  created: string[];
  status: SweepStatus;
}

/** Schedule the sweep's next advance (replacing a pending one) `delayMs` from now. */
export async function scheduleSweepAdvance(tx: Prisma.TransactionClient | PrismaClient, sweepId: string, delayMs: number): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(${ADVANCE_SWEEP_TASK}::text, json_build_object('sweepId', ${sweepId}::text),
    run_at := now() + ${delayMs}::int * interval '1 millisecond', job_key := ${`sweep:${sweepId}`}::text, max_attempts := 5)`;
}

async function evaluatedConfigs(tx: Prisma.TransactionClient, space: SweepSpace, runs: { id: string; recipe: unknown }[], o: Objective): Promise<EvaluatedConfig[]> {
  if (!runs.length) return [];
  // The runs' own figures, as the trade-off and the run list read them.
  const rows = await tx.$queryRaw<{ runId: string; name: string; value: number }[]>(
    latestRunLevelValues([o.x, o.y], Prisma.sql`r.id = ANY(${runs.map((r) => r.id)}::uuid[])`),
  );
  const values = new Map<string, Map<string, number>>();
  for (const r of rows) values.set(r.runId, (values.get(r.runId) ?? new Map()).set(r.name, r.value));
  const out: EvaluatedConfig[] = [];
  for (const run of runs) {
    const v = values.get(run.id);
    const x = v?.get(o.x);
    const y = v?.get(o.y);
    const indices = indicesOf(space, run.recipe as Json);
    if (indices && x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) out.push({ indices, x, y });
  }
  return out;
}

export async function advanceSweep(prisma: PrismaClient, sweepId: string): Promise<AdvanceResult> {
  return prisma.$transaction(async (tx) => {
    // One advancer at a time per sweep, whichever process runs it.
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id::text FROM "Sweep" WHERE id = ${sweepId}::uuid FOR UPDATE`;
    if (!locked.length) return { created: [], status: 'canceled' as SweepStatus };
    const sweep = await tx.sweep.findUniqueOrThrow({ where: { id: sweepId } });
    // A canceled sweep starts nothing; it waits for its running runs to stop.
    if (sweep.status === 'canceling') return { created: [], status: await stopSweepRuns(tx, sweepId) };
    if (sweep.status !== 'active') return { created: [], status: sweep.status };
    const space = SweepSpaceSchema.parse(sweep.space);
    const runs = await tx.run.findMany({ where: { sweepId }, select: { id: true, status: true, recipe: true }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const inFlight = runs.filter((r) => r.status === 'queued' || r.status === 'running').length;
    const slots = Math.max(0, Math.min(sweep.parallelism - inFlight, sweep.maxRuns - runs.length));

    let picks: Assignment[] = [];
    let exhausted = false;
    if (sweep.mode === 'grid') {
      const total = gridSize(space);
      for (let n = runs.length; n < Math.min(total, runs.length + slots); n++) picks.push(assignmentOf(space, gridIndices(space, n)));
      exhausted = runs.length + picks.length >= total;
    } else if (sweep.mode === 'random') {
      picks = Array.from({ length: slots }, (_, k) => randomAssignment(space, sweep.seed, runs.length + k));
    } else {
      const objective = ObjectiveSchema.parse(sweep.objective);
      const [dx, dy] = objectiveDirections(objective);
      const tried = runs.map((r) => indicesOf(space, r.recipe as Json)).filter((x): x is number[] => x !== null);
      const finished = runs.filter((r) => r.status === 'succeeded');
      const evaluated = await evaluatedConfigs(tx, space, finished, objective);
      const proposals = proposeConfigs({
        sizes: discreteSizes(space),
        tried,
        evaluated,
        dx,
        dy,
        initial: Math.min(sweep.maxRuns, Math.max(2, sweep.parallelism)),
        count: slots,
        seed: sweep.seed,
      });
      picks = proposals.map((p) => assignmentOf(space, p));
      exhausted = tried.length + picks.length >= gridSize(space) || (picks.length === 0 && inFlight === 0);
    }

    const created: string[] = [];
    let note: string | null = null;
    for (const pick of picks) {
      let recipe;
      try {
        // Seeds the recipe leaves open come from the sweep's seed, as createRun does with a run's.
        recipe = parseRecipe(seedRecipe(applyAssignment(sweep.recipe as Json, pick), sweep.seed, registry));
      } catch (e) {
        if (!(e instanceof RecipeError)) throw e;
        note = `configuration ${JSON.stringify(pick)} is not a valid recipe: ${e.problems.join('; ')}`;
        break;
      }
      const run = await createQueuedRun(tx, { projectId: sweep.projectId, baseModelId: sweep.baseModelId, recipe, seed: sweep.seed, createdById: sweep.createdById, sweepId });
      created.push(run.id);
    }
    const started = runs.length + created.length;
    const nothingLeft = note !== null || exhausted || started >= sweep.maxRuns;
    let status: SweepStatus = 'active';
    if (nothingLeft && inFlight + created.length === 0) status = 'done';
    if (note !== null) status = 'done';
    if (status !== 'active' || note !== null) {
      await tx.sweep.update({ where: { id: sweepId }, data: { status, note: note ?? (sweep.mode === 'pareto' && started < sweep.maxRuns ? 'stopped before the budget: no untried configuration left, or no run measured both objectives' : null) } });
    }
    return { created, status };
  });
}
