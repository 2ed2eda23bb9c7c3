/**
 * createRun refuses recipes that would take a worker down, before anything is queued,
 * over real HTTP against a real Postgres: absolute bounds, bounds relative to the base
 * model's shape (read from the config.json stored at import, the model is not decoded),
 * and the estimated peak memory and time against the worker's budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { ok, signUp, startHarness, upload, waitForImport, type GqlError, type Harness } from './harness';

let h: Harness;
let token: string;
let projectId: string;
let modelId: string;

const CREATE_RUN = `mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id status } }`;

beforeAll(async () => {
  // A small budget so the memory and time refusals are reachable with the tiny model.
  h = await startHarness({ config: { runBudget: { memoryBytes: 256 * 2 ** 20, seconds: 600, flopsPerSecond: 40e9 } } });
  token = (await signUp(h, 'bounds')).token;
  const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Bounds") { id } }`, {}, token));
  const project = ok(
    await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: team.createTeam.id }, token),
  );
  projectId = project.createProject.id;
  const c = decoderPreset('tiny');
  const bytes = serializeModel(buildDecoder(c, initDecoderWeights(c, 1, 0.2))).model;
  const up = await upload(h.api, bytes, token);
  const m = ok(
    await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "tiny", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, token),
  );
  modelId = m.importModel.id;
  expect((await waitForImport(h, modelId, token)).status).toBe('ready');
});
afterAll(async () => h?.close());

async function refused(recipe: unknown): Promise<GqlError> {
  const before = await h.db.prisma.run.count();
  const r = await h.gql(CREATE_RUN, { p: projectId, m: modelId, r: recipe }, token);
  expect(r.errors, JSON.stringify(r.data)).toHaveLength(1);
  // Nothing was queued or recorded.
  expect(await h.db.prisma.run.count()).toBe(before);
  return r.errors![0]!;
}

const kd = (params: Record<string, unknown>) => ({ steps: [{ technique: 'distill.kd', params }] });

describe('createRun bounds', () => {
  it('stores the decoder config.json on import', async () => {
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    expect(row.config).toMatchObject({ decoderConfig: { model_type: 'llama', num_hidden_layers: 2, hidden_size: 32, vocab_size: 96 } });
  });

  it('refuses a student larger than its teacher, naming the field', async () => {
    const e = await refused(kd({ student: { layers: 3 }, seqLen: 32 }));
    expect(e.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps[0].params.student.layers' });
    expect(e.message).toBe("recipe.steps[0].params.student.layers: student.layers (3) must not exceed the teacher's 2 layers: a student is no larger than its teacher");
    const huge = await refused(kd({ student: { layers: 100_000 } }));
    expect(huge.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps[0].params.student.layers' });
  });

  it('refuses absurd numbers and long recipes', async () => {
    expect((await refused(kd({ steps: 1e12 }))).extensions?.field).toBe('recipe.steps[0].params.steps');
    expect((await refused(kd({ lr: 1e308 }))).extensions?.field).toBe('recipe.steps[0].params.lr');
    const long = await refused({ steps: Array(500).fill({ technique: 'quantize.rtn-int8', params: {} }) });
    expect(long.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recipe.steps' });
    expect((await refused(kd({ seqLen: 128 }))).message).toBe("recipe.steps[0].params.seqLen: seqLen (128) exceeds the teacher's context of 64 positions");
  });

  it('refuses a run estimated beyond the memory budget or the time limit', async () => {
    const mem = await refused(kd({ batchSize: 256, seqLen: 64 }));
    expect(mem.extensions?.field).toBe('recipe.steps[0]');
    expect(mem.message).toMatch(/more than the worker's memory budget of 256 MB \(WORKER_MEMORY_BUDGET_MB\)/);
    const time = await refused(kd({ steps: 100_000, batchSize: 64, seqLen: 64 }));
    expect(time.extensions?.field).toBe('recipe.steps[0].params.steps');
    expect(time.message).toMatch(/more than the run time limit of 10\.0 min \(RUN_TIME_LIMIT_S\)/);
  });

  it('accepts a recipe within bounds', async () => {
    const r = ok(await h.gql<{ createRun: { status: string } }>(CREATE_RUN, { p: projectId, m: modelId, r: kd({ student: { layers: 1 }, steps: 20, seqLen: 32 }) }, token));
    expect(r.createRun.status).toBe('queued');
  });
});
