/**
 * A real API on an ephemeral port over a fresh, migrated Postgres database and a temp
 * artifact folder, plus a small GraphQL client. No component is mocked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalArtifactStore, type ArtifactStore } from '@distillery/artifacts';
import { createTestDatabase, type TestDatabase } from '@distillery/db';
import { GraphBuilder, serializeModel } from '@distillery/onnx';
import { startWorker, type RunningWorker } from '@distillery/workers';
import { pino } from 'pino';
import { createApi, type CreateApiOptions, type RunningApi } from '../src/index';

export interface Harness<S extends ArtifactStore = LocalArtifactStore> {
  api: RunningApi;
  /** A real worker taking only import-model jobs (runs stay queued for the tests to inspect). */
  worker: RunningWorker | null;
  db: TestDatabase;
  store: S;
  dir: string;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface GqlError {
  message: string;
  extensions?: { code?: string; field?: string; [k: string]: unknown };
}

export interface GqlResult<T> {
  status: number;
  data?: T | null;
  errors?: GqlError[];
}

export interface HarnessOptions extends Partial<CreateApiOptions> {
  /** Start the import worker (default true). */
  importWorker?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarnessOn((dir) => new LocalArtifactStore(path.join(dir, 'artifacts')), options);
}

/** The harness over another artifact store (made from the harness's temp folder), shared by the API and its import worker. */
export async function startHarnessOn<S extends ArtifactStore>(makeStore: (dir: string) => S, options: Omit<HarnessOptions, 'store'> = {}): Promise<Harness<S>> {
  const { importWorker = true, ...overrides } = options;
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'distillery-api-'));
  const store = makeStore(dir);
  const api = await createApi({
    prisma: db.prisma,
    store,
    databaseUrl: db.url,
    port: 0,
    production: false,
    logger: pino({ level: 'silent' }),
    env: {},
    ...overrides,
    config: { importRoot: path.join(dir, 'imports'), ...overrides.config },
  });
  const worker = importWorker
    ? await startWorker({ databaseUrl: db.url, store, log: pino({ level: process.env.HARNESS_WORKER_LOG ?? 'silent' }), threads: 1, pollIntervalMs: 200, tasks: ['import-model'] })
    : null;
  return {
    api,
    worker,
    db,
    store,
    dir,
    gql: (query, variables, token) => gql(api.graphqlUrl, query, variables, token),
    async close() {
      await worker?.stop();
      await api.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function gql<T>(url: string, query: string, variables?: Record<string, unknown>, token?: string, headers: Record<string, string> = {}): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T | null; errors?: GqlError[] };
  return { status: res.status, ...body };
}

/** The data of a result that must have succeeded (fails the test with the errors otherwise). */
export function ok<T>(r: GqlResult<T>): T {
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}

/** A tiny valid ONNX model: y = x @ W, with an Optimum-style node name. */
export function tinyOnnxModel(inFeatures = 4, outFeatures = 3): Uint8Array {
  const b = new GraphBuilder('tiny');
  const x = b.input('x', 'float32', [1, inFeatures]);
  const w = b.initializer(
    'model.layers.0.mlp.down_proj.weight',
    'float32',
    [inFeatures, outFeatures],
    Float32Array.from({ length: inFeatures * outFeatures }, (_, i) => (i % 7) / 7 - 0.5),
  );
  const y = b.op('MatMul', [x, w], {}, { name: '/model/layers.0/mlp/down_proj/MatMul', output: 'y' });
  b.output(y, 'float32', [1, outFeatures]);
  return serializeModel(b.toModel()).model;
}

export async function upload(api: RunningApi, bytes: Uint8Array, token?: string, teamId?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/upload${teamId ? `?teamId=${teamId}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new Blob([new Uint8Array(bytes)]),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

let userCounter = 0;

export const TEST_PASSWORD = 'correct horse battery';

export function uniqueEmail(name = 'user'): string {
  return `${name}-${Date.now()}-${userCounter++}@example.com`;
}

/** Sign up a fresh user, then sign in (sign-up itself never starts a session); returns its session token and id. */
export async function signUp(h: Harness<ArtifactStore>, name = 'user'): Promise<{ token: string; userId: string; email: string }> {
  const email = uniqueEmail(name);
  ok(await h.gql(`mutation($email: String!, $password: String!) { signUp(email: $email, password: $password, name: "T") { message } }`, { email, password: TEST_PASSWORD }));
  const r = ok(
    await h.gql<{ signIn: { token: string; user: { id: string } } }>(
      `mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { token user { id } } }`,
      { email, password: TEST_PASSWORD },
    ),
  );
  return { token: r.signIn.token, userId: r.signIn.user.id, email };
}

export interface ModelState {
  id: string;
  status: 'importing' | 'ready' | 'failed';
  error: string | null;
  parameterCount: number;
  sha256: string;
}

/** Polls model(id) until its import has finished (ready or failed). */
export async function waitForImport(h: Harness<ArtifactStore>, id: string, token: string, timeoutMs = 30_000): Promise<ModelState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = ok(await h.gql<{ model: ModelState }>(`query($id: ID!) { model(id: $id) { id status error parameterCount sha256 } }`, { id }, token));
    if (r.model.status !== 'importing') return r.model;
    if (Date.now() > deadline) throw new Error(`model ${id} still importing after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Upload bytes for the team and import them into the project; resolves once the import finished. */
export async function importBytes(h: Harness<ArtifactStore>, token: string, teamId: string, projectId: string, bytes: Uint8Array, name = 'm'): Promise<ModelState> {
  const up = await upload(h.api, bytes, token, teamId);
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${JSON.stringify(up.body)}`);
  const m = ok(
    await h.gql<{ importModel: { id: string } }>(`mutation($p: ID!, $n: String!, $s: String!) { importModel(projectId: $p, name: $n, sha256: $s) { id } }`, { p: projectId, n: name, s: up.body.sha256 }, token),
  );
  return waitForImport(h, m.importModel.id, token);
}
