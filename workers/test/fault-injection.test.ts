/**
 * Faults injected at the OS level into a real worker process: the Postgres server it
 * uses is restarted in the middle of a run (an embedded server this test controls), and
 * the artifact folder runs out of space while a step's output is written (a 2 MB tmpfs,
 * filled up). Each time the worker survives, nothing is recorded twice or half-written,
 * and the run either completes or fails with a message that says what happened.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@distillery/services';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '@distillery/artifacts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@distillery/db';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitStarted, type Fixture, type WorkerProcess } from './run-fixtures';


/** Polls through errors: the database may be down while this waits. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function track(w: WorkerProcess): WorkerProcess {
  cleanups.push(() => stopWorker(w));
  return w;
}

async function metricNamesOf(f: Fixture, runId: string): Promise<string[]> {
  return (await f.prisma.metric.findMany({ where: { runId, step: null }, select: { name: true } })).map((m) => m.name);
}

describe('fault injection', () => {
  it('Postgres restarted mid-run: the worker survives and the run completes once, recorded once', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'distillery-fault-pg-'));
    await chmod(root, 0o755);
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dataDir = path.join(root, 'cluster');
    const port = await freePort();
    let server: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir, port });
    cleanups.push(() => server.stop());
    const f = await createFixture({ serverUrl: server.url });
    cleanups.push(() => f.close());
    // Stale only well after the outage, so the attempt in progress is the one that finishes.
    const worker = track(spawnWorker(f, { WORKER_THREADS: '1', WORKER_STALE_AFTER_MS: '30000' }));
    await waitStarted(worker);

    const baseId = await addTinyDecoder(f, 21);
    // A slow evaluation (one token per window) keeps the run busy across the restart.
    const runId = await enqueueRun(f, baseId, { steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 4000, stride: 1 } });
    await eventually(async () => (await f.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status === 'running', 60_000, 'the run to start');

    await server.stop();
    // Down for longer than a heartbeat and a poll interval, so the worker notices.
    await new Promise((r) => setTimeout(r, 3000));
    server = await startEmbeddedPostgres({ dataDir, port });

    await eventually(async () => ['succeeded', 'failed'].includes((await f.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status), 90_000, 'the run to finish').catch((e: Error) => {
      throw new Error(`${e.message}\nworker output:\n${worker.output().slice(-6000)}`);
    });
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: true, outputModels: true, artifacts: true } });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded']);
    // Recorded once: one output model, one model and one report artifact, each metric once.
    expect(run.outputModels).toHaveLength(1);
    expect(run.artifacts.map((a) => a.kind).sort()).toEqual(['model', 'report']);
    const names = await metricNamesOf(f, runId);
    expect(names.length).toBeGreaterThan(5);
    expect(new Set(names).size).toBe(names.length);
    expect(await f.prisma.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs WHERE key = ${runId}`).toHaveLength(0);
    // The same process, still taking runs.
    expect(worker.child.exitCode).toBeNull();
    const next = await enqueueRun(f, baseId, { steps: [{ technique: 'quantize.rtn-int8', params: { skip: ['lm_head'] } }], eval: { maxTokens: 256 } });
    await eventually(async () => (await f.prisma.run.findUniqueOrThrow({ where: { id: next } })).status === 'succeeded', 60_000, 'a run after the restart');
  }, 240_000);

  it('artifact folder full during a write: a clean failure naming the problem, nothing half-written, the worker keeps going', async () => {
    const f = await createFixture();
    cleanups.push(() => f.close());
    // A 2 MB tmpfs as the artifact folder (we are root): a real ENOSPC from the kernel.
    const mnt = await mkdtemp(path.join(tmpdir(), 'distillery-fault-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    cleanups.push(async () => {
      execFileSync('umount', ['-l', mnt]);
      await rm(mnt, { recursive: true, force: true });
    });
    const store = new LocalArtifactStore(mnt);
    const full: Fixture = { ...f, store, artifactsDir: mnt };
    // The fixture's tokenizer, and the base model, must be in the small store too.
    await store.put(new TextEncoder().encode(JSON.stringify((await import('@distillery/nn')).toTokenizerJson(f.tokenizer))));
    const baseId = await addTinyDecoder(full, 22);
    // Fill what is left, but for a few KB: the step's output (a quarter of the model) cannot fit.
    await mkdir(path.join(mnt, 'filler'), { recursive: true });
    const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().trim().split('\n')[1]);
    await writeFile(path.join(mnt, 'filler', 'zeros'), Buffer.alloc(Math.max(0, free - 8 * 1024)));

    const worker = track(spawnWorker(full, { WORKER_THREADS: '1' }));
    await waitStarted(worker);
    const runId = await enqueueRun(full, baseId, { steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 256 } });
    // Retried like any transient failure (disk space can come back), then failed for good.
    await eventually(async () => ['succeeded', 'failed'].includes((await f.prisma.run.findUniqueOrThrow({ where: { id: runId } })).status), 120_000, 'the run to fail');
    const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { outputModels: true, artifacts: true, steps: true } });
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/^could not store the output of step 1 \(quantize\.rtn-int8\) in the artifact store: ENOSPC: no space left on device/);
    expect(run.outputModels).toHaveLength(0);
    expect(run.artifacts).toHaveLength(0);
    expect(await f.prisma.metric.count({ where: { runId } })).toBe(0);
    // Nothing half-written: no temp files left, and every blob in the store is whole.
    expect(await readdir(path.join(mnt, 'tmp'))).toEqual([]);
    const blobs = (await readdir(mnt, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && /^[0-9a-f]{64}$/.test(e.name));
    expect(blobs.length).toBe(2); // the tokenizer and the base model
    for (const b of blobs) expect(await store.verify(b.name)).toBe(true);

    // Space comes back; the same worker process finishes the next run.
    expect(worker.child.exitCode).toBeNull();
    await rm(path.join(mnt, 'filler'), { recursive: true });
    const next = await enqueueRun(full, baseId, { steps: [{ technique: 'quantize.rtn-int8', params: {} }], eval: { maxTokens: 256 } });
    await eventually(async () => (await f.prisma.run.findUniqueOrThrow({ where: { id: next } })).status === 'succeeded', 60_000, 'a run after space came back');
  }, 240_000);
});
