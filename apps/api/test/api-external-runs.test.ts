/**
 * The lifecycle of external runs over real HTTP, WebSocket and Postgres: logged points
 * reach subscribers (on a second API process, so through LISTEN/NOTIFY) as metric events (a retried batch announces nothing twice),
 * finishExternalRun ends the run through the run lifecycle with a status event, and
 * a finished run refuses further points and a second finish. A subscriber misses no
 * event and sees none twice while the listening API's LISTEN connection is terminated.
 */
import path from 'node:path';
import { RUN_EVENT_HUB_APPLICATION } from '@distillery/db';
import { freePort, startApiProcess, type Service } from '@distillery/services';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ok, signUp, startHarness, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let h: Harness;
let owner: { token: string };
let viewer: { token: string; email: string };
let projectId: string;
let modelId: string;
const clients: Client[] = [];
let listener: Service;
let listenerUrl: string;

const CREATE = `mutation($p: ID!, $m: ID!, $n: String!) { createExternalRun(projectId: $p, baseModelId: $m, name: $n) { id status } }`;
const LOG = `mutation($r: ID!, $pts: [MetricPointInput!]!) { logMetrics(runId: $r, points: $pts) { accepted duplicates } }`;
const FINISH = `mutation($r: ID!, $s: ExternalRunOutcome!, $e: String) { finishExternalRun(runId: $r, status: $s, error: $e) { id status error finishedAt } }`;

interface EventRow {
  kind: string;
  from: string | null;
  status: string | null;
  points: { name: string; step: number | null; value: number }[] | null;
}

const points = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ key: `loss:${from + i}`, name: 'train/loss', step: from + i, value: from + i }));

async function externalRun(name: string): Promise<string> {
  return ok(await h.gql<{ createExternalRun: { id: string } }>(CREATE, { p: projectId, m: modelId, n: name }, owner.token)).createExternalRun.id;
}

beforeAll(async () => {
  h = await startHarness();
  owner = await signUp(h, 'ext-owner');
  viewer = await signUp(h, 'ext-viewer');
  const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "External") { id } }`, {}, owner.token)).createTeam.id;
  const inv = ok(await h.gql<{ inviteMember: { id: string } }>(`mutation($t: ID!, $e: String!) { inviteMember(teamId: $t, email: $e, role: viewer) { id } }`, { t: teamId, e: viewer.email }, owner.token));
  ok(await h.gql(`mutation($id: ID!) { acceptInvitation(id: $id) { role } }`, { id: inv.inviteMember.id }, viewer.token));
  projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "ext") { id } }`, { t: teamId }, owner.token)).createProject.id;
  const up = await upload(h.api, tinyOnnxModel(), owner.token, teamId);
  modelId = ok(await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "base", sha256: $s) { id } }`, { p: projectId, s: up.body.sha256 }, owner.token)).importModel.id;
  expect((await waitForImport(h, modelId, owner.token)).status).toBe('ready');
  const port = await freePort();
  listener = await startApiProcess({ port, env: { DATABASE_URL: h.db.url, ARTIFACTS_DIR: path.join(h.dir, 'artifacts'), MODEL_IMPORT_ROOT: path.join(h.dir, 'imports'), LOG_LEVEL: 'warn' } });
  listenerUrl = `ws://127.0.0.1:${port}/graphql`;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await listener?.stop('SIGTERM', 20_000);
  await h?.close();
});

describe('external runs', () => {
  it('streams logged points live, announces the finish, then refuses more points and a second finish', async () => {
    const runId = await externalRun('live');
    const client = createClient({ url: listenerUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${owner.token}` }, retryAttempts: 0, lazy: true });
    clients.push(client);
    const stream = client.iterate<{ runEvents: EventRow }>({ query: `subscription($r: ID!) { runEvents(runId: $r) { kind from status points { name step value } } }`, variables: { r: runId } });
    const received: EventRow[] = [];
    const collected = (async () => {
      for await (const r of stream) {
        expect(r.errors).toBeUndefined();
        received.push(r.data!.runEvents);
        if (r.data!.runEvents.kind === 'status') break;
      }
    })();
    // The subscription is registered once the server has it; until then events would be missed.
    await new Promise((r) => setTimeout(r, 500));

    // 3,000 points: more than one NOTIFY payload holds, so the event arrives in chunks.
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: points(0, 3000) }, owner.token)).logMetrics).toEqual({ accepted: 3000, duplicates: 0 });
    // A retry overlapping the first batch: only the 500 new points are announced.
    expect(ok(await h.gql<{ logMetrics: unknown }>(LOG, { r: runId, pts: points(2500, 3500) }, owner.token)).logMetrics).toEqual({ accepted: 500, duplicates: 500 });
    expect((await h.gql(FINISH, { r: runId, s: 'succeeded' }, viewer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const finished = ok(await h.gql<{ finishExternalRun: { status: string; error: string | null; finishedAt: string | null } }>(FINISH, { r: runId, s: 'succeeded' }, owner.token)).finishExternalRun;
    expect(finished).toMatchObject({ status: 'succeeded', error: null });
    expect(finished.finishedAt).not.toBeNull();
    await collected;

    const streamed = received.filter((e) => e.kind === 'metrics').flatMap((e) => e.points ?? []);
    expect(received.filter((e) => e.kind === 'metrics').length).toBeGreaterThan(1);
    expect(streamed.map((p) => p.step)).toEqual(Array.from({ length: 3500 }, (_, i) => i));
    expect(streamed.every((p) => p.name === 'train/loss' && p.value === p.step)).toBe(true);
    expect(received.at(-1)).toMatchObject({ kind: 'status', from: 'running', status: 'succeeded' });

    const late = await h.gql(LOG, { r: runId, pts: points(3500, 3501) }, owner.token);
    expect(late.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(late.errors?.[0]?.message).toMatch(/succeeded.*finished run takes no more metrics/);
    expect(await h.db.prisma.metric.count({ where: { runId } })).toBe(3500);
    const again = await h.gql(FINISH, { r: runId, s: 'failed', e: 'late' }, owner.token);
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(again.errors?.[0]?.message).toMatch(/already succeeded/);
  });

  it('records a failure with its error, and refuses malformed finishes and runs Distillery executes', async () => {
    const runId = await externalRun('crashing');
    expect((await h.gql(FINISH, { r: runId, s: 'failed' }, owner.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'error' });
    expect((await h.gql(FINISH, { r: runId, s: 'succeeded', e: 'oops' }, owner.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'error' });
    expect((await h.gql(FINISH, { r: runId, s: 'canceled' }, owner.token)).errors?.length).toBeGreaterThan(0);
    const failed = ok(await h.gql<{ finishExternalRun: { status: string; error: string } }>(FINISH, { r: runId, s: 'failed', e: 'CUDA out of memory' }, owner.token)).finishExternalRun;
    expect(failed).toMatchObject({ status: 'failed', error: 'CUDA out of memory' });
    const stored = await h.db.prisma.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true, error: true, finishedAt: true } });
    expect(stored).toMatchObject({ status: 'failed', error: 'CUDA out of memory' });
    expect(stored.finishedAt).toBeInstanceOf(Date);
    expect((await h.gql(LOG, { r: runId, pts: [] }, owner.token)).errors?.[0]?.extensions?.code).toBe('CONFLICT');

    const own = ok(await h.gql<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: {steps: [{technique: "quantize.rtn-int8"}]}) { id } }`, { p: projectId, m: modelId }, owner.token)).createRun.id;
    expect((await h.gql(FINISH, { r: own, s: 'succeeded' }, owner.token)).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await h.db.prisma.run.findUniqueOrThrow({ where: { id: own }, select: { status: true } })).status).toBe('queued');
  });

  it('delivers every event once and in order while the listening connection is terminated again and again', async () => {
    const runId = await externalRun('flaky-listen');
    const client = createClient({ url: listenerUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${owner.token}` }, retryAttempts: 0, lazy: true });
    clients.push(client);
    const stream = client.iterate<{ runEvents: EventRow & { seq: string } }>({ query: `subscription($r: ID!) { runEvents(runId: $r) { seq kind from status points { name step value } } }`, variables: { r: runId } });
    const received: (EventRow & { seq: string })[] = [];
    const collected = (async () => {
      for await (const r of stream) {
        expect(r.errors).toBeUndefined();
        received.push(r.data!.runEvents);
        if (r.data!.runEvents.kind === 'status') break;
      }
    })();
    await new Promise((r) => setTimeout(r, 500));

    // Two clients log 60 batches each (one metrics event per batch) while the hubs' connections are killed.
    const batches = 60;
    let writing = true;
    const written = Promise.all(
      ['a/loss', 'b/loss'].map(async (name) => {
        for (let b = 0; b < batches; b++) {
          const pts = Array.from({ length: 5 }, (_, i) => ({ key: `${name}:${b * 5 + i}`, name, step: b * 5 + i, value: b }));
          ok(await h.gql(LOG, { r: runId, pts }, owner.token));
        }
      }),
    ).finally(() => {
      writing = false;
    });
    let kills = 0;
    while (writing) {
      const rows = await h.db.prisma.$queryRaw<{ n: bigint }[]>`
        SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${RUN_EVENT_HUB_APPLICATION}`;
      kills += Number(rows[0]!.n);
      await new Promise((r) => setTimeout(r, 60));
    }
    await written;
    ok(await h.gql(FINISH, { r: runId, s: 'succeeded' }, owner.token));
    await collected;

    expect(kills).toBeGreaterThan(2);
    const metrics = received.filter((e) => e.kind === 'metrics');
    expect(metrics).toHaveLength(2 * batches);
    const seqs = received.map((e) => BigInt(e.seq));
    for (let k = 1; k < seqs.length; k++) expect(seqs[k]!).toBeGreaterThan(seqs[k - 1]!);
    for (const name of ['a/loss', 'b/loss']) {
      const steps = metrics.flatMap((e) => e.points ?? []).filter((p) => p.name === name).map((p) => p.step);
      expect(steps).toEqual(Array.from({ length: batches * 5 }, (_, i) => i));
    }
    expect(received.at(-1)).toMatchObject({ kind: 'status', status: 'succeeded' });
  });
});
