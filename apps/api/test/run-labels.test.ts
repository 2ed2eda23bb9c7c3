/**
 * Tags and step parameters as run filters, over real HTTP against a real Postgres: tags
 * set at createRun and replaced with setRunTags, runs found by tag and by a parameter at
 * a dotted path, bad input named, and a viewer of another team refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { importBytes, ok, signUp, startHarness, type Harness } from './harness';

let h: Harness;
let token: string;
let projectId: string;
let modelId: string;

const CREATE = `mutation($p: ID!, $m: ID!, $r: JSON!, $t: [String!]) { createRun(projectId: $p, baseModelId: $m, recipe: $r, tags: $t) { id tags } }`;
const LIST = `query($p: ID!, $f: RunFilter) { runs(projectId: $p, filter: $f, first: 50) { edges { node { id } } } }`;

async function create(recipe: unknown, tags?: string[]): Promise<string> {
  return ok(await h.gql<{ createRun: { id: string } }>(CREATE, { p: projectId, m: modelId, r: recipe, t: tags }, token)).createRun.id;
}
async function list(filter: unknown, as = token): Promise<string[]> {
  return ok(await h.gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST, { p: projectId, f: filter }, as)).runs.edges.map((e) => e.node.id).sort();
}
const rtn = (bits: number, extra: Record<string, unknown> = {}) => ({ steps: [{ technique: 'quantize.rtn', params: { bits, ...extra } }] });

beforeAll(async () => {
  h = await startHarness();
  token = (await signUp(h, 'labels')).token;
  const team = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Labels") { id } }`, {}, token));
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: team.createTeam.id }, token)).createProject.id;
  const c = decoderPreset('tiny');
  const model = await importBytes(h, token, team.createTeam.id, projectId, serializeModel(buildDecoder(c, initDecoderWeights(c, 1, 0.2))).model, 'tiny');
  expect(model.status).toBe('ready');
  modelId = model.id;
});
afterAll(async () => h?.close());

describe('run tags and parameter filters', () => {
  it('filters by tags (all given must be present) and by step parameters at a path', async () => {
    const a = await create(rtn(4, { groupSize: 32 }), ['sweep-1', 'baseline']);
    const b = await create(rtn(8), ['sweep-1', 'sweep-1']);
    const c = await create({ steps: [{ technique: 'quantize.rtn-int8', params: {} }, { technique: 'quantize.rtn', params: { bits: 4 } }] });
    expect(ok(await h.gql<{ run: { tags: string[] } }>(`query($id: ID!) { run(id: $id) { tags } }`, { id: b }, token)).run.tags).toEqual(['sweep-1']);
    expect(await list({ tags: ['sweep-1'] })).toEqual([a, b].sort());
    expect(await list({ tags: ['sweep-1', 'baseline'] })).toEqual([a]);
    expect(await list({ tags: ['nope'] })).toEqual([]);
    expect(await list({ param: { path: 'bits', equals: 4 } })).toEqual([a, c].sort());
    expect(await list({ param: { path: 'bits', equals: 4, technique: 'quantize.rtn-int8' } })).toEqual([]);
    expect(await list({ param: { path: 'groupSize', equals: 32 }, tags: ['baseline'] })).toEqual([a]);
    // Filters combine with the existing ones.
    expect(await list({ param: { path: 'bits', equals: 8 }, status: 'queued' })).toEqual([b]);
  });

  it('replaces tags with setRunTags and names bad tags and paths', async () => {
    const id = await create(rtn(3));
    const set = ok(await h.gql<{ setRunTags: { tags: string[] } }>(`mutation($id: ID!, $t: [String!]!) { setRunTags(runId: $id, tags: $t) { tags } }`, { id, t: [' best ', 'ship'] }, token));
    expect(set.setRunTags.tags).toEqual(['best', 'ship']);
    expect(await list({ tags: ['ship'] })).toEqual([id]);
    const bad = await h.gql(`mutation($id: ID!, $t: [String!]!) { setRunTags(runId: $id, tags: $t) { tags } }`, { id, t: ['x'.repeat(65)] }, token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tags[0]' });
    const badPath = await h.gql(LIST, { p: projectId, f: { param: { path: 'a..b', equals: 1 } } }, token);
    expect(badPath.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.param.path' });
  });

  it('refuses to tag or list the runs of a team one is not in', async () => {
    const id = await create(rtn(2));
    const outsider = (await signUp(h, 'outsider')).token;
    const r = await h.gql(`mutation($id: ID!) { setRunTags(runId: $id, tags: ["mine"]) { tags } }`, { id }, outsider);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(LIST, { p: projectId, f: { tags: ['sweep-1'] } }, outsider)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.db.prisma.run.findUniqueOrThrow({ where: { id } })).tags).toEqual([]);
  });
});
