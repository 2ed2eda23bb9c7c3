/**
 * Nested fields are batched (no N+1): a page of runs with their project, base model,
 * steps, step outputs, metrics, artifacts and output model costs the same number of SQL
 * statements for 3 runs as for 30. Counted on a second API process whose database
 * client reports every statement it sends.
 */
import { createPrismaClient, type PrismaClient } from '@distillery/db';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi, type RunningApi } from '../src/index';
import { gql, ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let counted: RunningApi;
let countingPrisma: PrismaClient;
let statements = 0;
let token: string;
let projectId: string;

const PAGE = `query($p: ID!, $n: Int!) { runs(projectId: $p, first: $n) { edges { node {
  id project { name } baseModel { name } steps { techniqueId outputModel { id } } metrics { name value label } outputModel { id } artifacts { id }
} } } }`;

beforeAll(async () => {
  h = await startHarness();
  countingPrisma = createPrismaClient(h.db.url, { onQuery: () => statements++ });
  counted = await createApi({ prisma: countingPrisma, store: h.store, databaseUrl: h.db.url, port: 0, production: false, logger: pino({ level: 'silent' }), env: {} });
  token = (await signUp(h, 'batching')).token;
  const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Batch") { id } }`, {}, token)).createTeam.id;
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "b") { id } }`, { t: teamId }, token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(), token, teamId);
  const modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, token)).importModel.id;
  expect((await waitForImport(h, modelId, token)).status).toBe('ready');
  for (let i = 0; i < 30; i++) {
    const runId = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}, {technique: "quantize.rtn"}]}) { id } }`, { p: projectId, m: modelId }, token)).createRun.id;
    await h.db.prisma.metric.createMany({ data: [{ runId, name: 'perplexity', value: 50 + i }, { runId, name: 'size.bytes', value: 1000 }] });
  }
});
afterAll(async () => {
  await counted?.close();
  await countingPrisma?.$disconnect();
  await h?.close();
});

async function statementsFor(n: number): Promise<number> {
  const before = statements;
  const r = ok(await gql<{ runs: { edges: { node: { steps: unknown[]; metrics: unknown[] } }[] } }>(counted.graphqlUrl, PAGE, { p: projectId, n }, token));
  expect(r.runs.edges.length).toBe(n);
  expect(r.runs.edges.every((e) => e.node.steps.length === 2 && e.node.metrics.length === 2)).toBe(true);
  return statements - before;
}

describe('nested fields', () => {
  it('cost a constant number of statements per page, whatever its length', async () => {
    const three = await statementsFor(3);
    const thirty = await statementsFor(30);
    expect(thirty).toBe(three);
    expect(thirty).toBeLessThanOrEqual(12);
  });

  it('read the recipe and evaluation documents with one more statement, only when selected', async () => {
    const LEAN = `query($p: ID!, $n: Int!) { runs(projectId: $p, first: $n) { edges { node { id status } } } }`;
    const FULL = `query($p: ID!, $n: Int!) { runs(projectId: $p, first: $n) { edges { node { id status recipe evaluation provenance } } } }`;
    const count = async (query: string, n: number) => {
      const before = statements;
      const r = ok(await gql<{ runs: { edges: { node: { recipe?: { steps: unknown[] }; evaluation?: unknown; provenance?: unknown } }[] } }>(counted.graphqlUrl, query, { p: projectId, n }, token));
      return { statements: statements - before, nodes: r.runs.edges.map((e) => e.node) };
    };
    const lean = await count(LEAN, 30);
    const full3 = await count(FULL, 3);
    const full30 = await count(FULL, 30);
    expect(full30.statements).toBe(full3.statements);
    expect(full30.statements).toBe(lean.statements + 1);
    expect(full30.nodes.every((n) => n.recipe?.steps.length === 2 && n.evaluation === null && n.provenance === null)).toBe(true);
  });
});
