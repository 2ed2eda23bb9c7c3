/**
 * `distillery sweep --project P --model M --spec sweep.json [--follow [--metric NAME]] [--json]`:
 * starts a sweep. The spec holds createSweep's own arguments: {name, mode, recipe |
 * recipeId, space, maxRuns, parallelism?, objective?, seed?}. With --follow it shows the
 * sweep's progress until it ends (sweep-follow.ts) and exits 0 when it is done with at
 * least one run succeeded, 1 when it was canceled or none of its runs succeeded.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { apiCall } from './api-call';
import { connection } from './credentials';
import { readJsonFile } from './json-file';
import { createProgressDisplay } from './progress-display';
import { resolveModel, resolveProject } from './resolve-names';
import { followSweep, tally } from './sweep-follow';
import { UsageError } from './usage-error';

const specSchema = z
  .object({
    name: z.string().min(1),
    mode: z.enum(['grid', 'random', 'pareto']),
    recipe: z.unknown().optional(),
    recipeId: z.string().optional(),
    space: z.array(z.unknown()).min(1),
    maxRuns: z.number().int().positive(),
    parallelism: z.number().int().positive().optional(),
    objective: z.object({ x: z.string(), y: z.string(), xLowerIsBetter: z.boolean().optional(), yLowerIsBetter: z.boolean().optional() }).optional(),
    seed: z.number().int().optional(),
  })
  .strict();

export async function sweepCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { project: { type: 'string' }, model: { type: 'string' }, spec: { type: 'string' }, follow: { type: 'boolean' }, metric: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (positionals.length) throw new UsageError(`sweep takes no positional arguments, got ${positionals.join(' ')}`);
  if (!values.project || !values.model || !values.spec) throw new UsageError('sweep needs --project, --model and --spec <file.json>');
  if (values.metric !== undefined && !values.follow) throw new UsageError('--metric ranks the runs of a followed sweep: add --follow');
  const parsed = specSchema.safeParse(await readJsonFile(values.spec, '--spec'));
  if (!parsed.success) throw new UsageError(`--spec ${values.spec}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const spec = parsed.data;
  if ((spec.recipe === undefined) === (spec.recipeId === undefined)) throw new UsageError(`--spec ${values.spec}: give exactly one of recipe or recipeId`);
  const call = apiCall(await connection());
  const project = await resolveProject(call, values.project);
  const model = await resolveModel(call, project, values.model);
  const { createSweep } = await call<{ createSweep: { id: string; name: string; status: string; mode: string; maxRuns: number; runs: { id: string; status: string }[] } }>(
    `mutation($p: ID!, $m: ID!, $n: String!, $mode: SweepMode!, $r: JSON, $rid: ID, $space: JSON!, $max: Int!, $par: Int, $obj: SweepObjectiveInput, $seed: Int) {
      createSweep(projectId: $p, baseModelId: $m, name: $n, mode: $mode, recipe: $r, recipeId: $rid, space: $space, maxRuns: $max, parallelism: $par, objective: $obj, seed: $seed) {
        id name status mode maxRuns runs { id status } } }`,
    { p: project.id, m: model.id, n: spec.name, mode: spec.mode, r: spec.recipe ?? null, rid: spec.recipeId ?? null, space: spec.space, max: spec.maxRuns, par: spec.parallelism ?? 2, obj: spec.objective ?? null, seed: spec.seed ?? 0 },
  );
  if (!values.follow) {
    if (values.json) {
      print(JSON.stringify(createSweep));
      return;
    }
    print(`sweep ${createSweep.id} ${createSweep.status}: ${createSweep.name}, ${createSweep.mode}, up to ${createSweep.maxRuns} runs`);
    for (const r of createSweep.runs) print(`  run ${r.id} ${r.status}`);
    return;
  }
  if (!values.json) print(`sweep ${createSweep.id} ${createSweep.status}: ${createSweep.name}, ${createSweep.mode}, up to ${createSweep.maxRuns} runs`);
  const { state, metric } = await followSweep(call, createSweep.id, values.metric, createProgressDisplay());
  if (values.json) print(JSON.stringify(state));
  const succeeded = state.runs.filter((r) => r.status === 'succeeded').length;
  const failed = state.runs.filter((r) => r.status === 'failed').length;
  const t = tally(state, metric);
  const counts = `${state.runs.length} runs, ${succeeded} succeeded${failed ? `, ${failed} failed` : ''}`;
  if (state.status === 'canceled') throw new Error(`sweep ${state.id} was canceled: ${counts}`);
  if (succeeded === 0) throw new Error(`sweep ${state.id} failed: none of its ${state.runs.length} runs succeeded${state.note ? ` (${state.note})` : ''}`);
  if (!values.json) print(`sweep ${state.id} done: ${counts}${t.best ? `; ${t.best}` : ''}`);
}
