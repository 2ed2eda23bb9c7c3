/**
 * `distillery run --project P --model M --recipe recipe.json [--seed N] [--tag T]... [--watch] [--json]`:
 * queues a run; with --watch follows it to its end (exit 1 unless it succeeded) and prints
 * its final metrics.
 */
import { parseArgs } from 'node:util';
import { apiCall } from './api-call';
import { connection } from './credentials';
import { readJsonFile } from './json-file';
import { createProgressDisplay } from './progress-display';
import { resolveModel, resolveProject } from './resolve-names';
import { RUN_STATE_FIELDS, watchRun, type RunState } from './run-watch';
import { UsageError } from './usage-error';

export class RunFailed extends Error {
  override name = 'RunFailed';
}

export async function runCommand(argv: string[], print: (line: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      model: { type: 'string' },
      recipe: { type: 'string' },
      seed: { type: 'string' },
      tag: { type: 'string', multiple: true },
      watch: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length) throw new UsageError(`run takes no positional arguments, got ${positionals.join(' ')}`);
  if (!values.project || !values.model || !values.recipe) throw new UsageError('run needs --project, --model and --recipe <file.json>');
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
  const recipe = await readJsonFile(values.recipe, '--recipe');
  const c = await connection();
  const call = apiCall(c);
  const project = await resolveProject(call, values.project);
  const model = await resolveModel(call, project, values.model);
  const { createRun } = await call<{ createRun: RunState }>(
    `mutation($p: ID!, $m: ID!, $r: JSON!, $s: Int, $t: [String!]) { createRun(projectId: $p, baseModelId: $m, recipe: $r, seed: $s, tags: $t) { ${RUN_STATE_FIELDS} } }`,
    { p: project.id, m: model.id, r: recipe, s: seed, t: values.tag ?? null },
  );
  if (!values.watch) {
    print(values.json ? JSON.stringify(createRun) : `run ${createRun.id} ${createRun.status}`);
    return;
  }
  process.stderr.write(`run ${createRun.id} queued: ${createRun.steps.map((s) => s.techniqueId).join(' -> ')} on ${model.name}\n`);
  const final = await watchRun(c, call, createRun.id, createProgressDisplay());
  if (values.json) print(JSON.stringify(final));
  else {
    print(`run ${final.id} ${final.status}${final.outputModel ? `: model ${final.outputModel.id} (${final.outputModel.bytes} bytes, sha256 ${final.outputModel.sha256})` : ''}`);
    for (const m of final.metrics.filter((x) => x.runStepId === null).sort((a, b) => a.name.localeCompare(b.name))) print(`  ${m.name} ${m.value}${m.unit ? ` ${m.unit}` : ''}`);
  }
  if (final.status !== 'succeeded') throw new RunFailed(`run ${final.id} ${final.status}${final.error ? `: ${final.error}` : ''}`);
}
