/**
 * What the worker tests share: a migrated test database with graphile-worker's schema, a
 * local artifact store, a tiny decoder with its own BPE tokenizer stored as a Model row
 * (as an import would), runs enqueued exactly as the API does, and real worker processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalArtifactStore, type ArtifactStore } from '@distillery/artifacts';
import { splitBundledCorpora } from '@distillery/data';
import { createRun, createTestDatabase, tokenizerArtifact, type Prisma, type PrismaClient, type TestDatabase, type TestDatabaseOptions } from '@distillery/db';
import { buildDecoder, decoderPreset, initDecoderWeights, toTokenizerJson, trainBpe, type BpeTokenizer } from '@distillery/nn';
import { inspectModel, serializeModel } from '@distillery/onnx';
import { runMigrations } from 'graphile-worker';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface Fixture {
  db: TestDatabase;
  prisma: PrismaClient;
  store: ArtifactStore;
  /** The local store's folder; with another store, an empty folder no worker should write to. */
  artifactsDir: string;
  /** Settings every spawned worker gets (an S3 store's, say). */
  workerEnv: Record<string, string>;
  teamId: string;
  projectId: string;
  tokenizer: BpeTokenizer;
  tokenizerSha: string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Another artifact store than a local folder; `workerEnv` must make worker processes use it too. */
  store?: ArtifactStore;
  workerEnv?: Record<string, string>;
}

/** `dbOptions.serverUrl` puts the database on another server (an embedded one a test restarts). */
export async function createFixture(dbOptions: TestDatabaseOptions = {}, opts: FixtureOptions = {}): Promise<Fixture> {
  const db = await createTestDatabase(dbOptions);
  // The API's enqueue calls graphile_worker.add_job, so the schema must exist before any worker starts.
  await runMigrations({ connectionString: db.url, logger: undefined });
  const artifactsDir = await mkdtemp(path.join(tmpdir(), 'distillery-workers-'));
  const store = opts.store ?? new LocalArtifactStore(artifactsDir);
  const team = await db.prisma.team.create({ data: { name: 'Workers', slug: `workers-${Date.now()}` } });
  const project = await db.prisma.project.create({ data: { teamId: team.id, name: 'compression' } });
  // A small vocabulary trained on a slice of the training split: quick, and its ids fit the tiny model.
  const texts = splitBundledCorpora().train.slice(0, 3).map((d) => d.text.slice(0, 20_000));
  const tokenizer = trainBpe(texts, { vocabSize: 320 });
  const tokenizerPut = await store.put(new TextEncoder().encode(JSON.stringify(toTokenizerJson(tokenizer))));
  return {
    db,
    prisma: db.prisma,
    store,
    artifactsDir,
    workerEnv: opts.workerEnv ?? {},
    teamId: team.id,
    projectId: project.id,
    tokenizer,
    tokenizerSha: tokenizerPut.sha256,
    async close() {
      await db.drop();
      await rm(artifactsDir, { recursive: true, force: true });
    },
  };
}

/** Stores `bytes` and creates the Model row an import would. */
export async function addModel(f: Fixture, name: string, bytes: Uint8Array, parameterCount: number, withTokenizer = true): Promise<string> {
  const put = await f.store.put(bytes);
  const tokenizer = withTokenizer
    ? await f.prisma.$transaction((tx) => tokenizerArtifact(tx, { teamId: f.teamId, sha256: f.tokenizerSha, bytes: 0, storagePath: f.tokenizerSha }))
    : null;
  const model = await f.prisma.model.create({
    data: {
      teamId: f.teamId,
      projectId: f.projectId,
      name,
      format: 'onnx',
      sha256: put.sha256,
      bytes: BigInt(put.bytes),
      parameterCount: BigInt(parameterCount),
      storagePath: put.path,
      tokenizerId: tokenizer?.id,
    },
  });
  return model.id;
}

/** A random-weight tiny decoder over the fixture's vocabulary; `seed` makes distinct bytes. */
export async function addTinyDecoder(f: Fixture, seed: number, withTokenizer = true): Promise<string> {
  const config = decoderPreset('tiny', { vocabSize: f.tokenizer.vocabSize });
  const model = buildDecoder(config, initDecoderWeights(config, seed, 0.2));
  return addModel(f, `tiny-${seed}`, serializeModel(model).model, inspectModel(model).parameterCount, withTokenizer);
}

export interface RecipeInput {
  steps: { technique: string; params: Record<string, unknown> }[];
  eval?: Record<string, unknown>;
}

/** The API's createRun: Run + RunSteps + the graphile job (key = run id, 3 attempts) in one transaction. */
export async function enqueueRun(f: Fixture, baseModelId: string, recipe: RecipeInput): Promise<string> {
  return f.prisma.$transaction(async (tx) => {
    const run = await createRun(tx, {
      data: { projectId: f.projectId, baseModelId, recipe: recipe as unknown as Prisma.InputJsonValue, seed: 0 },
      steps: recipe.steps.map((s) => ({ techniqueId: s.technique, params: s.params as Prisma.InputJsonValue })),
    });
    await tx.$executeRaw`SELECT graphile_worker.add_job('execute-run'::text, json_build_object('runId', ${run.id}::text), job_key := ${run.id}::text, max_attempts := 3::int)`;
    return run.id;
  });
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed so far (pino JSON lines and anything else). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnWorker(f: Fixture, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: f.db.url,
      ARTIFACTS_DIR: f.artifactsDir,
      LOG_LEVEL: 'info',
      WORKER_HEARTBEAT_MS: '300',
      WORKER_STALE_AFTER_MS: '3000',
      WORKER_SWEEP_INTERVAL_MS: '1000',
      WORKER_POLL_INTERVAL_MS: '500',
      WORKER_PROGRESS_INTERVAL_MS: '200',
      ...f.workerEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** SIGTERM a worker still running and wait for it to drain (at most graceMs). */
export async function stopWorker(w: WorkerProcess | undefined, graceMs = 20_000): Promise<void> {
  if (!w) return;
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.race([w.exited, new Promise((r) => setTimeout(r, graceMs))]);
}

/** Waits until the worker logged that it is taking jobs. */
export async function waitStarted(w: WorkerProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => w.output().includes('"worker started"') || w.child.exitCode !== null, timeoutMs, 'worker start');
  if (!w.output().includes('"worker started"')) throw new Error(`worker did not start:\n${w.output()}`);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForStatus(f: Fixture, runId: string, statuses: string[], timeoutMs: number): Promise<void> {
  await waitFor(
    async () => statuses.includes((await f.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status),
    timeoutMs,
    `run ${runId} to reach ${statuses.join('|')}`,
  );
}

/** Rows of graphile-worker's queue for a run (none once a job completed). */
export async function jobsOf(f: Fixture, runId: string): Promise<{ attempts: number; last_error: string | null }[]> {
  return f.prisma.$queryRaw`SELECT attempts, last_error FROM graphile_worker._private_jobs WHERE key = ${runId} OR payload->>'runId' = ${runId}`;
}
