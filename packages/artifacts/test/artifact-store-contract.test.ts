/** The ArtifactStore contract against the local folder and against a real S3-protocol server. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { LocalArtifactStore } from '../src/index';
import { artifactStoreContract } from './artifact-store-contract';
import { startS3TestServer, type S3TestServer } from './s3-test-server';

artifactStoreContract('LocalArtifactStore', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'artifacts-'));
  const store = new LocalArtifactStore(root);
  return {
    store,
    async rawEntries() {
      const out: string[] = [];
      for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
        if (e.isFile()) out.push(path.relative(root, path.join(e.parentPath, e.name)));
      }
      return out.sort();
    },
    entryOf: (sha256) => path.relative(root, store.path(sha256)),
    overwriteStored: (sha256, bytes) => writeFile(store.path(sha256), bytes),
    async leaveTemp(name, bytes) {
      await mkdir(path.join(root, 'tmp'), { recursive: true });
      await writeFile(path.join(root, 'tmp', name), bytes);
      return path.join('tmp', name);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});

let server: S3TestServer;
beforeAll(async () => {
  server = await startS3TestServer();
});
afterAll(async () => {
  await server?.close();
});

artifactStoreContract('S3ArtifactStore', async () => {
  // Each test gets its own prefix, so one bucket serves them all without interference.
  const prefix = `t-${randomBytes(6).toString('hex')}/`;
  const store = server.store(prefix);
  const { client, bucket } = store;
  return {
    store,
    async rawEntries() {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.push(o.Key!.slice(prefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
    entryOf: (sha256) => store.key(sha256).slice(prefix.length),
    async overwriteStored(sha256, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: store.key(sha256), Body: bytes }));
    },
    async leaveTemp(name, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}tmp/${name}`, Body: bytes }));
      return `tmp/${name}`;
    },
    close: async () => {},
  };
});
