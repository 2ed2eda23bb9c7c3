/**
 * The evaluation side of the API over real GraphQL/HTTP: the metric catalogue query,
 * catalogue labels on a run's metrics, the run's evaluation record, and uploaded
 * multiple-choice task files validated at createRun with errors naming line and field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let token: string;
let projectId: string;
let modelId: string;

beforeAll(async () => {
  h = await startHarness();
  token = (await signUp(h, 'evaluator')).token;
  const t = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Eval Lab") { id } }`, {}, token));
  const p = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "eval") { id } }`, { t: t.createTeam.id }, token));
  projectId = p.createProject.id;
  const up = await upload(h.api, tinyOnnxModel(4, 3), token);
  const m = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "tiny", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, token));
  modelId = m.importModel.id;
  expect((await waitForImport(h, modelId, token)).status).toBe('ready');
});
afterAll(async () => {
  await h?.close();
});

const CREATE_RUN = `mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }`;

describe('evaluation through the API', () => {
  it('lists the metric catalogue: each stored name once, with label, unit, direction and family', async () => {
    const r = ok(await h.gql<{ metricCatalogue: { name: string; key: string; scope: string; label: string; unit: string; lowerIsBetter: boolean | null; family: string }[] }>(
      `{ metricCatalogue { name key scope label unit lowerIsBetter family } }`,
      {},
      token,
    ));
    const names = r.metricCatalogue.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    expect(r.metricCatalogue.find((m) => m.name === 'divergence.kl')).toMatchObject({ key: 'klDivergence', scope: 'model', unit: 'nats/token', lowerIsBetter: true, family: 'divergence' });
    expect(r.metricCatalogue.find((m) => m.name === 'base.bitsPerByte')).toMatchObject({ scope: 'base', lowerIsBetter: true });
    expect(r.metricCatalogue.find((m) => m.name === 'ratio.size')).toMatchObject({ key: 'sizeBytes', unit: 'ratio' });
    expect((await h.gql(`{ metricCatalogue { name } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("labels a run's metrics from the catalogue and returns its evaluation record", async () => {
    const run = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { p: projectId, m: modelId, r: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token));
    const runId = run.createRun.id;
    // Written by workers; inserted here as a worker would.
    await h.db.prisma.metric.createMany({ data: [{ runId, name: 'divergence.top1', value: 0.97 }, { runId, name: 'steps.0.report.layersQuantized', value: 3 }] });
    const record = { suite: { id: 'distillery-standard', version: 1, hash: 'a'.repeat(64) }, samples: [{ prompt: 'It was a', output: { greedy: ' dark', sampled: ' cold' }, base: null }] };
    await h.db.prisma.run.update({ where: { id: runId }, data: { evaluation: record } });
    const r = ok(await h.gql<{ run: { evaluation: unknown; metrics: { name: string; label: string | null; unit: string | null; lowerIsBetter: boolean | null; family: string | null }[] } }>(
      `query($id: ID!) { run(id: $id) { evaluation metrics { name label unit lowerIsBetter family } } }`,
      { id: runId },
      token,
    ));
    expect(r.run.evaluation).toEqual(record);
    expect(r.run.metrics).toEqual([
      { name: 'divergence.top1', label: 'Top-1 agreement with the base', unit: 'fraction', lowerIsBetter: false, family: 'divergence' },
      { name: 'steps.0.report.layersQuantized', label: null, unit: null, lowerIsBetter: null, family: null },
    ]);
  });

  it('accepts an uploaded task file and refuses a malformed or missing one, naming line and field', async () => {
    const good = await upload(h.api, new TextEncoder().encode('{"context": "The sea", "choices": [" is wet", " is dry"], "gold": 0}\n'), token);
    const bad = await upload(h.api, new TextEncoder().encode('{"context": "The sea", "choices": [" is wet", " is dry"], "gold": 0}\n{"context": "x", "choices": [" a"], "gold": 0}\n'), token);
    const recipe = (sha256: string) => ({ steps: [{ technique: 'quantize.rtn-int8' }], eval: { tasks: [{ name: 'sea', sha256 }] } });
    const before = await h.db.prisma.run.count();
    ok(await h.gql(CREATE_RUN, { p: projectId, m: modelId, r: recipe(good.body.sha256 as string) }, token));
    const refused = await h.gql(CREATE_RUN, { p: projectId, m: modelId, r: recipe(bad.body.sha256 as string) }, token);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.eval.tasks[0].sha256' });
    expect(refused.errors?.[0]?.message).toMatch(/task "sea", line 2, field "choices": needs at least 2 choices/);
    const missing = await h.gql(CREATE_RUN, { p: projectId, m: modelId, r: recipe('b'.repeat(64)) }, token);
    expect(missing.errors?.[0]?.message).toMatch(/nothing was uploaded with this hash/);
    const malformedHash = await h.gql(CREATE_RUN, { p: projectId, m: modelId, r: recipe('nope') }, token);
    expect(malformedHash.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.eval.tasks[0].sha256' });
    expect(await h.db.prisma.run.count()).toBe(before + 1);
  });

  it('types the per-layer sensitivity stored with a run, on the run and in run lists', async () => {
    const plain = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { p: projectId, m: modelId, r: { steps: [{ technique: 'quantize.rtn-int8' }] } }, token)).createRun.id;
    const probed = ok(await h.gql<{ createRun: { id: string } }>(CREATE_RUN, { p: projectId, m: modelId, r: { steps: [{ technique: 'quantize.rtn-int8' }], eval: { sensitivity: { bits: [2, 4] } } } }, token)).createRun.id;
    // Written by workers (evaluate-task.ts); inserted here as a worker would. The second row's KL
    // was not finite, which JSON stores as null.
    const rows = [
      { layer: 'blocks.0.attn.q', weights: 4096, bits: 2, sparsity: null, bitsPerWeight: 2.5, kl: 0.31, top1: 0.72, pplDelta: 4.2 },
      { layer: 'blocks.0.attn.q', weights: 4096, bits: 4, sparsity: null, bitsPerWeight: 4.5, kl: null, top1: 0.95, pplDelta: 0.3 },
    ];
    await h.db.prisma.run.update({ where: { id: probed }, data: { evaluation: { suite: { id: 'distillery-standard', version: 1 }, sensitivity: rows } } });
    await h.db.prisma.run.update({ where: { id: plain }, data: { evaluation: { suite: { id: 'distillery-standard', version: 1 } } } });
    const FIELDS = 'sensitivity { layer weights bits sparsity bitsPerWeight kl top1 pplDelta }';
    const one = ok(await h.gql<{ run: { sensitivity: unknown } }>(`query($id: ID!) { run(id: $id) { ${FIELDS} } }`, { id: probed }, token));
    expect(one.run.sensitivity).toEqual(rows);
    const none = ok(await h.gql<{ run: { sensitivity: unknown } }>(`query($id: ID!) { run(id: $id) { ${FIELDS} } }`, { id: plain }, token));
    expect(none.run.sensitivity).toBeNull();
    // Lists leave the documents out of their rows: the field reads them through the loader.
    const list = ok(await h.gql<{ runs: { edges: { node: { id: string; sensitivity: unknown } }[] } }>(`query($p: ID!) { runs(projectId: $p, first: 10) { edges { node { id ${FIELDS} } } } }`, { p: projectId }, token));
    const byId = new Map(list.runs.edges.map((e) => [e.node.id, e.node.sensitivity]));
    expect(byId.get(probed)).toEqual(rows);
    expect(byId.get(plain)).toBeNull();
    // Rows of another shape are an error, not a silently partial table.
    await h.db.prisma.run.update({ where: { id: plain }, data: { evaluation: { sensitivity: [{ layer: 'x' }] } } });
    const bad = await h.gql(`query($id: ID!) { run(id: $id) { ${FIELDS} } }`, { id: plain }, token);
    expect(bad.errors?.length).toBeGreaterThan(0);
  });

  it("gives the JSON Schemas of a recipe's evaluation and calibration settings", async () => {
    const r = ok(await h.gql<{ recipeSettingsSchemas: { eval: { properties: Record<string, { properties?: Record<string, unknown> }> }; calibration: { properties: Record<string, { default?: unknown }> } } }>(
      `{ recipeSettingsSchemas { eval calibration } }`,
      {},
      token,
    ));
    expect(Object.keys(r.recipeSettingsSchemas.eval.properties)).toEqual(expect.arrayContaining(['maxTokens', 'sensitivity', 'choiceItems']));
    expect(Object.keys(r.recipeSettingsSchemas.eval.properties.sensitivity!.properties!)).toEqual(expect.arrayContaining(['bits', 'sparsity', 'sequences', 'length']));
    expect(r.recipeSettingsSchemas.calibration.properties.sequences!.default).toBe(32);
    expect((await h.gql(`{ recipeSettingsSchemas { eval } }`)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
