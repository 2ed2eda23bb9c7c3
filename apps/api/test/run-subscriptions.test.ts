/**
 * Subscriptions across processes: two API processes and one worker process share only
 * Postgres and the artifact folder. A run is created through API A and executed by the
 * worker; a subscriber on API B sees every event of it over graphql-ws. A user of another
 * team cannot subscribe, and a connection without a valid token is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { buildDecoder, decoderPreset, initDecoderWeights } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { freePort, startApiProcess, startWorkerProcess, type Service } from '@distillery/services';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gql, ok, TEST_PASSWORD, uniqueEmail } from './harness';

interface EventRow {
  kind: string;
  runId: string;
  from: string | null;
  status: string | null;
  stepIndex: number | null;
  progress: number | null;
  modelId: string | null;
  points: { name: string; step: number | null }[] | null;
}
const EVENT_FIELDS = 'kind runId from status stepIndex progress modelId points { name step }';

let db: TestDatabase;
let dir: string;
const services: Service[] = [];
const clients: Client[] = [];
let apiA: string;
let apiB: string;

async function account(api: string, name: string): Promise<string> {
  const email = uniqueEmail(name);
  ok(await gql(`${api}/graphql`, `mutation($e: String!, $p: String!) { signUp(email: $e, password: $p, name: "T") { message } }`, { e: email, p: TEST_PASSWORD }));
  return ok(await gql<{ signIn: { token: string } }>(`${api}/graphql`, `mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }`, { e: email, p: TEST_PASSWORD })).signIn.token;
}

function wsClient(api: string, connectionParams: Record<string, unknown>): Client {
  const client = createClient({ url: `${api.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-subscriptions-'));
  const env = { DATABASE_URL: db.url, ARTIFACTS_DIR: path.join(dir, 'artifacts'), MODEL_IMPORT_ROOT: path.join(dir, 'imports'), LOG_LEVEL: 'warn' };
  const [portA, portB] = [await freePort(), await freePort()];
  services.push(await startApiProcess({ port: portA, env }));
  services.push(await startApiProcess({ port: portB, env }));
  services.push(await startWorkerProcess({ databaseUrl: db.url, artifactsDir: env.ARTIFACTS_DIR, threads: 1, logLevel: 'info', extraEnv: { WORKER_POLL_INTERVAL_MS: '200' } }));
  apiA = `http://127.0.0.1:${portA}`;
  apiB = `http://127.0.0.1:${portB}`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  for (const s of services.reverse()) await s.stop('SIGTERM', 20_000);
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('run event subscriptions across API processes', () => {
  it('a subscriber on API B sees the events of a run created on API A and executed by a worker; outsiders are refused', async () => {
    const token = await account(apiA, 'owner');
    const q = <T>(query: string, variables: Record<string, unknown>) => gql<T>(`${apiA}/graphql`, query, variables, token).then(ok);
    const teamId = (await q<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Live") { id } }`, {})).createTeam.id;
    const projectId = (await q<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: teamId })).createProject.id;
    const c = decoderPreset('tiny');
    const up = await fetch(`${apiA}/upload?teamId=${teamId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      body: new Blob([new Uint8Array(serializeModel(buildDecoder(c, initDecoderWeights(c, 1, 0.2))).model)]),
    });
    const sha256 = ((await up.json()) as { sha256: string }).sha256;
    const modelId = (await q<{ importModel: { id: string } }>(`mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "tiny", sha256: $s) { id } }`, { p: projectId, s: sha256 })).importModel.id;
    for (;;) {
      const m = await q<{ model: { status: string } }>(`query($id: ID!) { model(id: $id) { status } }`, { id: modelId });
      if (m.model.status === 'ready') break;
      expect(m.model.status).toBe('importing');
      await new Promise((r) => setTimeout(r, 200));
    }

    // Subscribed on B before the run exists: the project stream shows its creation too.
    const onB = wsClient(apiB, { authorization: `Bearer ${token}` });
    const stream = onB.iterate<{ projectRunEvents: EventRow }>({ query: `subscription($p: ID!) { projectRunEvents(projectId: $p) { ${EVENT_FIELDS} } }`, variables: { p: projectId } });
    const received: EventRow[] = [];
    const collected = (async () => {
      for await (const r of stream) {
        expect(r.errors).toBeUndefined();
        received.push(r.data!.projectRunEvents);
        const e = r.data!.projectRunEvents;
        if (e.kind === 'status' && ['succeeded', 'failed'].includes(e.status ?? '')) break;
      }
    })();
    // Give the subscription time to be registered on B before anything happens.
    await new Promise((r) => setTimeout(r, 500));
    const runId = (
      await q<{ createRun: { id: string } }>(`mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }`, {
        p: projectId,
        m: modelId,
        r: { steps: [{ technique: 'quantize.rtn-int8', params: {} }] },
      })
    ).createRun.id;
    await collected;

    expect(received.every((e) => e.runId === runId)).toBe(true);
    const statuses = received.filter((e) => e.kind === 'status').map((e) => `${e.from ?? '-'}>${e.status}`);
    expect(statuses).toEqual(['->queued', 'queued>running', 'running>succeeded']);
    expect(received.filter((e) => e.kind === 'step').map((e) => `${e.stepIndex}:${e.status}`)).toEqual(['0:running', '0:succeeded']);
    expect(received.some((e) => e.kind === 'progress' && (e.progress ?? 0) > 0)).toBe(true);
    const output = await q<{ run: { outputModel: { id: string } } }>(`query($id: ID!) { run(id: $id) { outputModel { id } } }`, { id: runId });
    expect(received.find((e) => e.kind === 'model')?.modelId).toBe(output.run.outputModel.id);
    const points = received.filter((e) => e.kind === 'metrics').flatMap((e) => e.points ?? []);
    expect(points.map((p) => p.name)).toContain('size.bytes');

    // Another team's user: connected (a valid token), but the subscription is refused.
    const outsider = await account(apiB, 'outsider');
    const theirs = wsClient(apiB, { token: outsider }).iterate({ query: `subscription($id: ID!) { runEvents(runId: $id) { kind } }`, variables: { id: runId } });
    const refused = await theirs.next();
    expect(refused.value?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const projectRefused = await wsClient(apiA, { token: outsider }).iterate({ query: `subscription($p: ID!) { projectRunEvents(projectId: $p) { kind } }`, variables: { p: projectId } }).next();
    expect(projectRefused.value?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // No valid token: the connection itself is closed with 4403.
    const anonymous = wsClient(apiB, { token: 'not-a-token' }).iterate({ query: `subscription($id: ID!) { runEvents(runId: $id) { kind } }`, variables: { id: runId } });
    await expect(anonymous.next()).rejects.toMatchObject({ code: 4403 });
  });
});
