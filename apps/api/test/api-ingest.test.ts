/**
 * Metric ingest for runs made elsewhere, over real HTTP and Postgres: createExternalRun,
 * logMetrics in batches, retries and a client that dies mid-request neither lose nor
 * double points, a batch and its audit row commit together, and the refusals (viewers, other
 * teams, Distillery's own runs, oversize or malformed batches).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let owner: { token: string };
let viewer: { token: string; email: string };
let outsider: { token: string };
let projectId: string;
let modelId: string;

const CREATE = `mutation($p: ID!, $m: ID!, $n: String!, $params: JSON) { createExternalRun(projectId: $p, baseModelId: $m, name: $n, params: $params) { id status recipe } }`;
const LOG = `mutation($r: ID!, $pts: [MetricPointInput!]!) { logMetrics(runId: $r, points: $pts) { accepted duplicates } }`;

type Point = { key: string; name: string; step: number; value: number };
const points = (from: number, to: number): Point[] =>
  Array.from({ length: to - from }, (_, i) => ({ key: `loss:${from + i}`, name: 'train/loss', step: from + i, value: 1 / (1 + from + i) }));

async function externalRun(name = 'nb'): Promise<string> {
  return ok(await h.gql<{ createExternalRun: { id: string } }>(CREATE, { p: projectId, m: modelId, n: name, params: { lr: 0.001 } }, owner.token)).createExternalRun.id;
}

async function storedSeries(runId: string): Promise<{ step: number | null; value: number }[]> {
  return h.db.prisma.metric.findMany({ where: { runId, name: 'train/loss' }, orderBy: { step: 'asc' }, select: { step: true, value: true } });
}

beforeAll(async () => {
  h = await startHarness();
  owner = await signUp(h, 'ingest-owner');
  viewer = await signUp(h, 'ingest-viewer');
  outsider = await signUp(h, 'ingest-outsider');
  const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Notebooks") { id } }`, {}, owner.token)).createTeam.id;
  const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: viewer) { id } }`, { t: teamId, e: viewer.email }, owner.token));
  ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv.inviteMember.id }, viewer.token));
  ok(await h.gql(`mutation { createTeam(name: "Elsewhere") { id } }`, {}, outsider.token));
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "nb") { id } }`, { t: teamId }, owner.token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(), owner.token, teamId);
  modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, owner.token)).importModel.id;
  expect((await waitForImport(h, modelId, owner.token)).status).toBe('ready');
});
afterAll(async () => {
  await h?.close();
});

describe('metric ingest', () => {
  it('records an external run and its points, readable as a series', async () => {
    const run = ok(await h.gql<{ createExternalRun: { id: string; status: string; recipe: { external: boolean; params: unknown } } }>(CREATE, { p: projectId, m: modelId, n: 'lr sweep', params: { lr: 0.01 } }, owner.token)).createExternalRun;
    expect(run.status).toBe('running');
    expect(run.recipe).toMatchObject({ external: true, params: { lr: 0.01 } });
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: run.id, pts: points(0, 3000) }, owner.token)).logMetrics).toEqual({ accepted: 3000, duplicates: 0 });
    const series = ok(await h.gql<{ run: { metricSeries: { step: number; value: number }[] } }>(`query($r: ID!) { run(id: $r) { metricSeries(name: "train/loss") { step value } } }`, { r: run.id }, owner.token)).run.metricSeries;
    expect(series.length).toBe(3000);
    expect(series[2999]).toEqual({ step: 2999, value: 1 / 3000 });
  });

  it('neither loses nor doubles points when a client retries overlapping batches', async () => {
    const runId = await externalRun();
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: points(0, 1000) }, owner.token)).logMetrics).toEqual({ accepted: 1000, duplicates: 0 });
    // The answer to the first call was lost; the client sends it again with the next points.
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: points(500, 2000) }, owner.token)).logMetrics).toEqual({ accepted: 1000, duplicates: 500 });
    // A key repeated within one batch counts once.
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: [...points(2000, 2001), ...points(2000, 2001)] }, owner.token)).logMetrics).toEqual({ accepted: 1, duplicates: 1 });
    const stored = await storedSeries(runId);
    expect(stored.map((s) => s.step)).toEqual(Array.from({ length: 2001 }, (_, i) => i));
  });

  it('keeps every point exactly once when a client dies mid-request and retries everything', async () => {
    const runId = await externalRun();
    const batches = [points(0, 4000), points(4000, 8000), points(8000, 12000)];
    // The client sends all batches and dies before reading any answer: each request may or may not have landed.
    await Promise.all(
      batches.map(async (pts) => {
        const abort = new AbortController();
        const sent = fetch(h.api.graphqlUrl, {
          method: 'POST',
          signal: abort.signal,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
          body: JSON.stringify({ query: LOG, variables: { r: runId, pts } }),
        }).catch(() => null);
        setImmediate(() => abort.abort());
        await sent;
      }),
    );
    // Restarted, it resends every batch, concurrently.
    const answers = await Promise.all(batches.map((pts) => gql<{ logMetrics: { accepted: number; duplicates: number } }>(h.api.graphqlUrl, LOG, { r: runId, pts }, owner.token)));
    const accepted = answers.reduce((s, a) => s + ok(a).logMetrics.accepted, 0);
    const duplicates = answers.reduce((s, a) => s + ok(a).logMetrics.duplicates, 0);
    expect(accepted + duplicates).toBe(12000);
    // A dead request the server finishes only now can add nothing: every key is already stored.
    const stored = await storedSeries(runId);
    expect(stored.length).toBe(12000);
    expect(new Set(stored.map((s) => s.step)).size).toBe(12000);
    expect(stored[11999]).toEqual({ step: 11999, value: 1 / 12000 });
  });

  it('commits a batch together with its audit row: when the row cannot be written, no point is stored', async () => {
    const runId = await externalRun();
    const audited = () => h.db.prisma.auditEvent.findMany({ where: { action: 'logMetrics', targetIds: { has: runId } }, select: { outcome: true } });
    // The audit insert fails inside Postgres for this run only (a trigger, dropped below).
    await h.db.prisma.$executeRawUnsafe(`CREATE FUNCTION ingest_test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF '${runId}' = ANY(NEW."targetIds") THEN RAISE EXCEPTION 'audit refused'; END IF; RETURN NEW; END $$`);
    await h.db.prisma.$executeRawUnsafe(`CREATE TRIGGER ingest_test_refuse_audit BEFORE INSERT ON "AuditEvent" FOR EACH ROW EXECUTE FUNCTION ingest_test_refuse_audit()`);
    try {
      expect((await h.gql(LOG, { r: runId, pts: points(0, 100) }, owner.token)).errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await storedSeries(runId)).toEqual([]);
    } finally {
      await h.db.prisma.$executeRawUnsafe(`DROP TRIGGER ingest_test_refuse_audit ON "AuditEvent"`);
      await h.db.prisma.$executeRawUnsafe(`DROP FUNCTION ingest_test_refuse_audit()`);
    }
    expect(await audited()).toEqual([]);
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: points(0, 100) }, owner.token)).logMetrics).toEqual({ accepted: 100, duplicates: 0 });
    expect((await storedSeries(runId)).length).toBe(100);
    expect(await audited()).toEqual([{ outcome: 'ok' }]);
    // A refused batch leaves its refusal, and only that.
    ok(await h.gql(`mutation($r: ID!) { finishExternalRun(runId: $r, status: succeeded) { status } }`, { r: runId }, owner.token));
    expect((await h.gql(LOG, { r: runId, pts: points(100, 101) }, owner.token)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await audited()).map((a) => a.outcome).sort()).toEqual(['CONFLICT', 'ok']);
  });

  it('refuses viewers, other teams, runs Distillery executes, and oversize or malformed batches', async () => {
    const runId = await externalRun();
    expect((await h.gql(LOG, { r: runId, pts: points(0, 1) }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(LOG, { r: runId, pts: points(0, 1) }, outsider.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await h.gql(LOG, { r: runId, pts: points(0, 1) })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await h.gql(CREATE, { p: projectId, m: modelId, n: 'x' }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const own = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: projectId, m: modelId }, owner.token)).createRun.id;
    expect((await h.gql(LOG, { r: own, pts: points(0, 1) }, owner.token)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ key: `${i}`, name: 'l', value: 0 }));
    expect((await h.gql(LOG, { r: runId, pts: tooMany }, owner.token)).errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'points' } });
    expect((await h.gql(LOG, { r: runId, pts: [{ key: '', name: 'l', value: 1 }] }, owner.token)).errors?.[0]).toMatchObject({ extensions: { field: 'points[0].key' } });
    expect((await h.gql(LOG, { r: runId, pts: [...points(0, 2), { key: 'k\ud800', name: 'l', value: 1 }] }, owner.token)).errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'points[2]' } });
    expect((await h.gql(CREATE, { p: projectId, m: modelId, n: 'x', params: [1] }, owner.token)).errors?.[0]).toMatchObject({ extensions: { field: 'params' } });
    expect(await storedSeries(runId)).toEqual([]);
  });
});
