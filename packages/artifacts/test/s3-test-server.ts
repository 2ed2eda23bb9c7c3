/**
 * A real S3-protocol server for tests: s3rver (an npm devDependency, so nothing is
 * fetched at run time) on a free loopback port, storing into a temp folder, with one
 * bucket. `env` is what a process needs to use it as its artifact store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { S3ArtifactStore } from '../src/index';

/** s3rver's fixed account; it checks request signatures made with these. */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** Settings for a process (API or worker) that should use this server. */
  env: Record<string, string>;
  /** A store on this server under `prefix` (distinct prefixes keep tests apart). */
  store(prefix?: string): S3ArtifactStore;
  close(): Promise<void>;
}

export async function startS3TestServer(bucket = 'distillery-test'): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, vhostBuckets: false, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      ARTIFACT_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: '1',
      AWS_ACCESS_KEY_ID: ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    },
    store: (prefix = '') =>
      new S3ArtifactStore({
        bucket,
        prefix,
        client: { endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } },
      }),
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
