/**
 * The API as its own process (apps/api/src/main.ts), killed with SIGKILL in the middle of
 * an upload: no partial blob becomes visible, no upload row is recorded, and once the
 * API is back the same upload completes. Also: a large upload streams through the API
 * process without it ever holding the whole body.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalArtifactStore } from '@distillery/artifacts';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, serializeModel } from '@distillery/onnx';
import { graphql } from '@distillery/services';
import { groupMapsFile, groupPeakRss, patternBytes } from '../src/process-memory';
import { freePort, spawnService, waitForHttp, type Service } from '@distillery/services';

const MB = 1 << 20;

let db: TestDatabase;
let dir: string;
let store: LocalArtifactStore;
let port: number;
let api: Service | undefined;

async function startApi(): Promise<Service> {
  const service = spawnService({
    name: 'api',
    args: ['--import', 'tsx', 'apps/api/src/main.ts'],
    env: { DATABASE_URL: db.url, ARTIFACTS_DIR: store.root, API_PORT: String(port), LOG_LEVEL: 'warn' },
  });
  await waitForHttp(`http://127.0.0.1:${port}/health`, 60_000, service);
  return service;
}

async function sha256Of(total: number): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of patternBytes(total)) h.update(piece);
  return h.digest('hex');
}

function streamUpload(url: string, token: string, body: AsyncIterable<Uint8Array>): Promise<Response> {
  const iterator = body[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
}

let token: string;
let teamId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'distillery-upload-faults-'));
  store = new LocalArtifactStore(path.join(dir, 'artifacts'));
  port = await freePort();
  api = await startApi();
  const gqlUrl = `http://127.0.0.1:${port}/graphql`;
  await graphql(gqlUrl, 'mutation { signUp(email: "faults@example.com", password: "correct horse battery") { message } }');
  const signedIn = await graphql<{ signIn: { token: string } }>(gqlUrl, 'mutation { signIn(email: "faults@example.com", password: "correct horse battery") { token } }');
  token = signedIn.signIn.token;
  const t = await graphql<{ createTeam: { id: string } }>(gqlUrl, 'mutation { createTeam(name: "Faults") { id } }', {}, token);
  teamId = t.createTeam.id;
});

afterAll(async () => {
  await api?.stop('SIGTERM', 10_000);
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function blobs(): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list()) out.push(b.sha256);
  return out;
}

describe('uploads and a dying API process', () => {
  it('leaves no visible partial blob when the API is killed mid-upload; the upload works after a restart', async () => {
    const total = 48 * MB;
    const killAt = 16 * MB;
    const full = await sha256Of(total);
    const killed = api!;
    let sentWhenKilled = 0;
    const answer = await streamUpload(
      `http://127.0.0.1:${port}/upload?teamId=${teamId}`,
      token,
      patternBytes(total, MB, async (sent) => {
        if (sent >= killAt && sentWhenKilled === 0) {
          sentWhenKilled = sent;
          await killed.stop('SIGKILL');
        }
      }),
    ).then(
      (r) => r.status,
      (e: Error) => e.name,
    );
    expect(answer).not.toBe(201);
    expect(sentWhenKilled).toBeGreaterThanOrEqual(killAt);
    expect((await killed.exited).signal).toBe('SIGKILL');

    // Nothing visible: no blob (whole or partial) and no upload row; the bytes are only in tmp/.
    expect(await blobs()).toEqual([]);
    expect(await store.has(full)).toBe(false);
    expect(await db.prisma.upload.count()).toBe(0);
    const temp = await readdir(path.join(store.root, 'tmp')).catch(() => []);
    expect(temp.every((f) => f.endsWith('.part'))).toBe(true);

    api = await startApi();
    const again = await streamUpload(`http://127.0.0.1:${port}/upload?teamId=${teamId}`, token, patternBytes(total));
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual({ sha256: full, bytes: total, teamId });
    expect(await blobs()).toEqual([full]);
    expect(await store.verify(full)).toBe(true);
    expect(await db.prisma.upload.count({ where: { teamId, sha256: full } })).toBe(1);
    // The dead writer's temp file is what the collector's temp sweep removes.
    expect(await store.removeTempOlderThan(new Date(Date.now() + 1000))).toBe(temp.length);
  });

  it('streams a 200 MB upload through the API process without holding it', async () => {
    const total = 200 * MB;
    const before = Math.max(...(await groupPeakRss(api!.child.pid!)).values());
    const r = await streamUpload(`http://127.0.0.1:${port}/upload?teamId=${teamId}`, token, patternBytes(total));
    expect(r.status).toBe(201);
    expect(((await r.json()) as { bytes: number }).bytes).toBe(total);
    const after = Math.max(...(await groupPeakRss(api!.child.pid!)).values());
    // Buffering would add the whole body (200 MB) to the peak; streaming adds a few chunks.
    expect(after - before).toBeLessThan(total / 4);
  });
  it('never loads ONNX Runtime in the API process, not even to import a model', async () => {
    const gqlUrl = `http://127.0.0.1:${port}/graphql`;
    const p = await graphql<{ createProject: { id: string } }>(gqlUrl, 'mutation($t: ID!) { createProject(teamId: $t, name: "ort") { id } }', { t: teamId }, token);
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', [1, 2]);
    b.output(b.op('MatMul', [x, b.initializer('w', 'float32', [2, 2], Float32Array.from([1, 2, 3, 4]))], {}, { output: 'y' }), 'float32', [1, 2]);
    const up = await streamUpload(`http://127.0.0.1:${port}/upload?teamId=${teamId}`, token, (async function* () { yield serializeModel(b.toModel()).model; })());
    const { sha256 } = (await up.json()) as { sha256: string };
    const m = await graphql<{ importModel: { status: string } }>(
      gqlUrl,
      'mutation($p: ID!, $s: String!) { importModel(projectId: $p, name: "m", sha256: $s) { status } }',
      { p: p.createProject.id, s: sha256 },
      token,
    );
    expect(m.importModel.status).toBe('importing');
    const pgid = api!.child.pid!;
    expect(await groupMapsFile(pgid, /libc[.-]/)).toBe(true); // the check does see loaded libraries
    expect(await groupMapsFile(pgid, /onnxruntime/)).toBe(false);
  });
});
