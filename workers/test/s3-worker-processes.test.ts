/**
 * Workers on separate machines share only Postgres and the object store: two worker
 * processes, each with its own (empty, never written) ARTIFACTS_DIR, run runs against an
 * S3-protocol server; a model one worker produced is the base of a run the other
 * executes, so bytes provably travel through the bucket and nothing else.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '@distillery/artifacts';
import { startS3TestServer, type S3TestServer } from '@distillery/artifacts/s3-test-server';
import { addTinyDecoder, createFixture, enqueueRun, spawnWorker, stopWorker, waitForStatus, waitStarted, type Fixture, type WorkerProcess } from './run-fixtures';

const INT8 = { technique: 'quantize.rtn-int8', params: {} };

let s3: S3TestServer;
let f: Fixture;
let workers: WorkerProcess[] = [];
const localDirs: string[] = [];

beforeAll(async () => {
  s3 = await startS3TestServer();
  f = await createFixture({}, { store: s3.store(), workerEnv: s3.env });
  for (let i = 0; i < 2; i++) localDirs.push(await mkdtemp(path.join(tmpdir(), `worker-${i}-local-`)));
  workers = localDirs.map((dir) => spawnWorker(f, { ARTIFACTS_DIR: dir }));
  await Promise.all(workers.map((w) => waitStarted(w)));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  await f?.close();
  await s3?.close();
  await Promise.all(localDirs.map((d) => rm(d, { recursive: true, force: true })));
});

function holderOf(runId: string): number {
  return workers.findIndex((w) => w.output().includes(`"runId":"${runId}","attempt"`));
}

async function succeeded(runId: string) {
  await waitForStatus(f, runId, ['succeeded', 'failed'], 120_000);
  const run = await f.prisma.run.findUniqueOrThrow({ where: { id: runId }, include: { outputModels: true, artifacts: true } });
  expect(run.error).toBeNull();
  expect(run.status).toBe('succeeded');
  return run;
}

describe('two worker processes sharing only Postgres and an S3 bucket', () => {
  it('runs complete with their outputs stored in the bucket', async () => {
    const base = await addTinyDecoder(f, 1);
    const ids = [await enqueueRun(f, base, { steps: [INT8] }), await enqueueRun(f, base, { steps: [INT8] })];
    for (const id of ids) {
      const run = await succeeded(id);
      expect(run.artifacts.map((a) => a.kind).sort()).toEqual(['model', 'report']);
      for (const a of run.artifacts) {
        expect(a.storagePath).toBe(`s3://${s3.bucket}/blobs/${a.sha256.slice(0, 2)}/${a.sha256.slice(2, 4)}/${a.sha256}`);
        expect(await f.store.verify(a.sha256)).toBe(true);
      }
      const out = run.outputModels[0]!;
      const session = await ort.InferenceSession.create(await readArtifact(f.store, out.sha256), { intraOpNumThreads: 1, interOpNumThreads: 1 });
      expect(session.outputNames).toContain('logits');
      await session.release();
    }
    expect(ids.map(holderOf).every((i) => i >= 0)).toBe(true);
  });

  it('a model one worker produced is the base of a run on the other', async () => {
    const base = await addTinyDecoder(f, 2);
    const first = await succeeded(await enqueueRun(f, base, { steps: [{ technique: 'prune.magnitude', params: { sparsity: 0.5 } }] }));
    const producer = holderOf(first.id);
    expect(producer).toBeGreaterThanOrEqual(0);
    // With the producer gone, only the other worker can take the next run.
    await stopWorker(workers[producer]);
    const second = await succeeded(await enqueueRun(f, first.outputModels[0]!.id, { steps: [INT8] }));
    expect(holderOf(second.id)).toBe(1 - producer);
    expect(second.outputModels[0]!.parentId).toBe(first.outputModels[0]!.id);
    expect(await f.store.verify(second.outputModels[0]!.sha256)).toBe(true);
  });

  it('no worker wrote to a local artifact folder', async () => {
    for (const dir of localDirs) expect(await readdir(dir)).toEqual([]);
  });
});
