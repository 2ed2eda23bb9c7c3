/**
 * Supervision with real processes: the API (`apps/api/src/main.ts`) and a worker
 * (`workers/src/main.ts`) on a real Postgres, kept up by the Supervisor as `npm start`
 * keeps them. The worker is SIGKILLed in the middle of a run and the API after it; both
 * come back, and the run still completes (retried once the dead worker's heartbeat is
 * stale), asked through GraphQL over HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitBundledCorpora } from '@distillery/data';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { buildDecoder, decoderPreset, initDecoderWeights, toTokenizerJson, trainBpe } from '@distillery/nn';
import { serializeModel } from '@distillery/onnx';
import { freePort, graphql, restartDelay, spawnService, startApiProcess, startWorkerProcess, Supervisor, uploadBytes, waitForHttp, waitForModelReady, type Service } from '../src';

describe('restartDelay', () => {
  const policy = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };
  it('doubles with each quick failure up to the cap, and starts over after a long run', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelay(policy, n, 500))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(restartDelay(policy, 7, 60_000)).toBe(1000);
  });
});

let db: TestDatabase;
let dir: string;
let supervisor: Supervisor;
let apiUrl: string;
const events: string[] = [];

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events: ${events.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const alive = (s: Service) => s.child.exitCode === null && s.child.signalCode === null;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-supervisor-'));
  const artifactsDir = path.join(dir, 'artifacts');
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  supervisor = new Supervisor(
    { initialMs: 200, maxMs: 2000, resetAfterMs: 60_000 },
    {
      onExit: (name, exit) => events.push(`${name} exited ${exit.signal ?? exit.code}`),
      onRestarted: (name) => events.push(`${name} restarted`),
      onRestartFailed: (name, e) => events.push(`${name} restart failed: ${(e as Error).message.slice(0, 200)}`),
    },
  );
  await supervisor.add({
    name: 'api',
    start: () => startApiProcess({ port: apiPort, env: { DATABASE_URL: db.url, ARTIFACTS_DIR: artifactsDir, LOG_LEVEL: 'warn' } }),
  });
  await supervisor.add({
    name: 'worker',
    start: () =>
      startWorkerProcess({
        databaseUrl: db.url,
        artifactsDir,
        threads: 1,
        extraEnv: { WORKER_HEARTBEAT_MS: '300', WORKER_STALE_AFTER_MS: '3000', WORKER_SWEEP_INTERVAL_MS: '1000', WORKER_POLL_INTERVAL_MS: '500' },
      }),
  });
});

afterAll(async () => {
  await supervisor?.stop([{ names: ['api'], graceMs: 10_000 }, { names: ['worker'], graceMs: 30_000 }]);
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('supervised API and worker', () => {
  it('restarts a SIGKILLed worker and API, and a run interrupted by the kill still completes', async () => {
    const gql = <T>(q: string, v: Record<string, unknown> = {}, token?: string) => graphql<T>(`${apiUrl}/graphql`, q, v, token);
    const email = `sup-${Date.now()}@example.com`;
    await gql(`mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { message } }`, { e: email });
    const { signIn } = await gql<{ signIn: { token: string } }>(`mutation($e: String!) { signIn(email: $e, password: "correct horse battery") { token } }`, { e: email });
    const token = signIn.token;
    const team = await gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Supervised") { id } }`, {}, token);
    const project = await gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "p") { id } }`, { t: team.createTeam.id }, token);
    const tokenizer = trainBpe([splitBundledCorpora().train[0]!.text.slice(0, 20_000)], { vocabSize: 300 });
    const c = decoderPreset('tiny', { vocabSize: tokenizer.vocabSize });
    const model = await uploadBytes(apiUrl, serializeModel(buildDecoder(c, initDecoderWeights(c, 4, 0.2))).model, token);
    const tok = await uploadBytes(apiUrl, new TextEncoder().encode(JSON.stringify(toTokenizerJson(tokenizer))), token);
    const imported = await gql<{ importModel: { id: string } }>(
      `mutation($p: ID!, $s: String!, $t: String) { importModel(projectId: $p, name: "tiny", sha256: $s, tokenizerSha256: $t) { id } }`,
      { p: project.createProject.id, s: model.sha256, t: tok.sha256 },
      token,
    );
    await waitForModelReady(apiUrl, token, imported.importModel.id);
    // One token per window makes evaluation take seconds: long enough to kill the worker inside it.
    const recipe = { steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 3000, stride: 1 } };
    const created = await gql<{ createRun: { id: string } }>(
      `mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }`,
      { p: project.createProject.id, m: imported.importModel.id, r: recipe },
      token,
    );
    const runId = created.createRun.id;
    const runQuery = `query($id: ID!) { run(id: $id) { status attempts error progressMessage } }`;
    type RunView = { run: { status: string; attempts: number; error: string | null; progressMessage: string | null } };
    await until(async () => (await gql<RunView>(runQuery, { id: runId }, token)).run.status === 'running', 60_000, 'the run to start');

    const firstWorker = supervisor.current('worker');
    process.kill(firstWorker.child.pid!, 'SIGKILL');
    await until(() => supervisor.current('worker') !== firstWorker && alive(supervisor.current('worker')), 90_000, 'the worker to come back');
    expect(events).toContain('worker exited SIGKILL');
    expect(events).toContain('worker restarted');

    const firstApi = supervisor.current('api');
    process.kill(firstApi.child.pid!, 'SIGKILL');
    await until(() => supervisor.current('api') !== firstApi && alive(supervisor.current('api')), 90_000, 'the API to come back');
    expect(events).toContain('api exited SIGKILL');
    // The same token works against the new API process: sessions live in Postgres.
    await waitForHttp(`${apiUrl}/health`, 30_000);

    await until(async () => ['succeeded', 'failed', 'canceled'].includes((await gql<RunView>(runQuery, { id: runId }, token)).run.status), 120_000, 'the run to finish');
    const done = (await gql<RunView>(runQuery, { id: runId }, token)).run;
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    // The killed attempt counts: the run completed on its second.
    expect(done.attempts).toBe(2);
    expect(alive(firstWorker)).toBe(false);
    expect(alive(firstApi)).toBe(false);
  });
});

describe('Supervisor.stop', () => {
  // A child that takes 300 ms to stop after SIGTERM and reports when it got the signal.
  const sleeper = (name: string) => ({
    name,
    start: async () => {
      const s = spawnService({
        name,
        args: ['-e', "process.on('SIGTERM', () => { console.log('term ' + Date.now()); setTimeout(() => process.exit(0), 300); }); console.log('up'); setInterval(() => {}, 1000);"],
      });
      await until(() => s.output().includes('up'), 30_000, `${name} to start`);
      return s;
    },
  });

  it('stops children group by group in the order given, and restarts nothing afterwards', async () => {
    const sup = new Supervisor({ initialMs: 50, maxMs: 100, resetAfterMs: 60_000 });
    for (const n of ['web', 'api', 'worker']) await sup.add(sleeper(n));
    const children = ['web', 'api', 'worker'].map((n) => sup.current(n));
    await sup.stop([{ names: ['web', 'api'], graceMs: 5_000 }, { names: ['worker'], graceMs: 5_000 }]);
    const termAt = (s: Service) => Number(/term (\d+)/.exec(s.output())?.[1]);
    const [web, api, worker] = children.map(termAt) as [number, number, number];
    // The worker was signalled only after the front doors had exited (300 ms after their signal).
    expect(worker - Math.max(web, api)).toBeGreaterThanOrEqual(250);
    for (const c of children) expect(alive(c)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(['web', 'api', 'worker'].map((n) => sup.current(n))).toEqual(children);
  });
});
