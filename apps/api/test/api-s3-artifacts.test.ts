/**
 * The API and its import worker on an S3-protocol server instead of a local folder: an
 * upload streams into the bucket, the import reads it back from there, the model row
 * records the object's s3:// location, and a member downloads the same bytes.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { collectGarbage } from '@distillery/db';
import { startWorker } from '@distillery/workers';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ArtifactStore } from '@distillery/artifacts';
import { startS3TestServer, type S3TestServer } from '@distillery/artifacts/s3-test-server';
import { importBytes, ok, signUp, startHarnessOn, tinyOnnxModel, upload, waitForImport, type Harness } from './harness';

let s3: S3TestServer;
let h: Harness<S3ArtifactStore>;

beforeAll(async () => {
  s3 = await startS3TestServer();
  h = await startHarnessOn(() => s3.store('api/'), { config: { maxUploadBytes: 64 * 1024 } });
});
afterAll(async () => {
  await h?.close();
  await s3?.close();
});

describe('the API over an S3 artifact store', () => {
  it('uploads into the bucket, imports from it and serves the model back', async () => {
    const { token } = await signUp(h, 's3');
    const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Bucket Team") { id } }`, {}, token)).createTeam.id;
    const projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "s3") { id } }`, { t: teamId }, token)).createProject.id;
    const bytes = tinyOnnxModel(6, 5);
    const sha256 = createHash('sha256').update(bytes).digest('hex');

    const model = await importBytes(h, token, teamId, projectId, bytes, 'tiny-s3');
    expect(model.status).toBe('ready');
    expect(model.sha256).toBe(sha256);
    expect(await h.store.verify(sha256)).toBe(true);
    const row = await h.db.prisma.model.findUniqueOrThrow({ where: { id: model.id } });
    expect(row.storagePath).toBe(`s3://${s3.bucket}/api/blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);

    const res = await fetch(`${h.api.url}/models/${model.id}/files?path=onnx/model.onnx`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), Buffer.from(bytes))).toBe(0);

    // An upload over the size limit leaves nothing in the bucket, not even a partial object.
    const before: string[] = [];
    for await (const b of h.store.list()) before.push(b.sha256);
    const big = await upload(h.api, new Uint8Array(200 * 1024).fill(7), token, teamId);
    expect(big.status).toBe(413);
    const after: string[] = [];
    for await (const b of h.store.list()) after.push(b.sha256);
    expect(after.sort()).toEqual(before.sort());
    expect(await h.store.removeTempOlderThan(new Date(Date.now() + 60_000))).toBe(0);
  });

  it('collects unreferenced blobs and expired uploads from the bucket, keeping referenced ones', async () => {
    const { token } = await signUp(h, 'gc');
    const teamId = ok(await h.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "GC Team") { id } }`, {}, token)).createTeam.id;
    const projectId = ok(await h.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "gc") { id } }`, { t: teamId }, token)).createProject.id;
    const kept = await importBytes(h, token, teamId, projectId, tinyOnnxModel(7, 3), 'kept');
    const pending = await upload(h.api, tinyOnnxModel(8, 3), token, teamId);
    const orphan = await h.store.put(Buffer.from('nothing refers to this'));
    // Two days on, S3 write times cannot be moved back, so the collector's clock moves forward.
    const r = await collectGarbage(h.db.prisma, h.store, { graceMs: 3_600_000, uploadGraceMs: 86_400_000, now: new Date(Date.now() + 2 * 86_400_000) });
    expect(r.expiredUploads).toBeGreaterThanOrEqual(1);
    expect(r.deletedBlobs).toEqual(expect.arrayContaining([orphan.sha256, pending.body.sha256]));
    expect(await h.store.has(orphan.sha256)).toBe(false);
    expect(await h.store.has(pending.body.sha256 as string)).toBe(false);
    expect(await h.store.verify(kept.sha256)).toBe(true);
  });

  it('a server-side import whose folder a worker cannot see fails with the reason', async () => {
    const h2 = await startHarnessOn(() => s3.store('api-2/'), { importWorker: false });
    try {
      const { token } = await signUp(h2, 'folder');
      const teamId = ok(await h2.gql<{ createTeam: { id: string } }>(`mutation { createTeam(name: "Folder Team") { id } }`, {}, token)).createTeam.id;
      const projectId = ok(await h2.gql<{ createProject: { id: string } }>(`mutation($t: ID!) { createProject(teamId: $t, name: "f") { id } }`, { t: teamId }, token)).createProject.id;
      const folder = path.join(h2.api.config.importRoot, 'on-the-api-machine');
      await mkdir(folder, { recursive: true });
      await writeFile(path.join(folder, 'tiny.onnx'), tinyOnnxModel(2, 5));
      const q = `mutation($p: ID!, $path: String!) { importModelFromPath(projectId: $p, name: "srv", path: $path) { id status } }`;
      const m = ok(await h2.gql<{ importModelFromPath: { id: string; status: string } }>(q, { p: projectId, path: 'on-the-api-machine/tiny.onnx' }, token)).importModelFromPath;
      expect(m.status).toBe('importing');
      // The model file is in the bucket; the folder stays behind on "another machine".
      await rm(folder, { recursive: true });
      const worker = await startWorker({ databaseUrl: h2.db.url, store: h2.store, log: pino({ level: 'silent' }), threads: 1, pollIntervalMs: 200, tasks: ['import-model'] });
      try {
        const done = await waitForImport(h2, m.id, token);
        expect(done.status).toBe('failed');
        expect(done.error).toMatch(/import folder .*on-the-api-machine is not visible on this worker/);
      } finally {
        await worker.stop();
      }
    } finally {
      await h2.close();
    }
  });
});
