import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactStoreConfigFromEnv, createArtifactStore, LocalArtifactStore, S3ArtifactStore } from '../src/index';

describe('artifactStoreConfigFromEnv', () => {
  it('defaults to the local folder', () => {
    expect(artifactStoreConfigFromEnv({})).toEqual({ kind: 'local', dir: path.resolve('.data/artifacts') });
    expect(createArtifactStore(artifactStoreConfigFromEnv({ ARTIFACTS_DIR: '/tmp/a' }))).toBeInstanceOf(LocalArtifactStore);
  });

  it('selects S3 with its settings', async () => {
    const c = artifactStoreConfigFromEnv({ ARTIFACT_STORE: 's3', S3_BUCKET: 'b', S3_PREFIX: 'team', S3_ENDPOINT: 'http://127.0.0.1:9000', S3_FORCE_PATH_STYLE: '1' });
    expect(c).toEqual({ kind: 's3', bucket: 'b', prefix: 'team/', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true });
    const store = createArtifactStore(c) as S3ArtifactStore;
    expect(store).toBeInstanceOf(S3ArtifactStore);
    expect(store.key('a'.repeat(64))).toBe(`team/blobs/aa/aa/${'a'.repeat(64)}`);
    expect(await store.client.config.forcePathStyle).toBe(true);
  });

  it('names every bad setting', () => {
    expect(() => artifactStoreConfigFromEnv({ ARTIFACT_STORE: 's3' })).toThrow(/S3_BUCKET is required/);
    expect(() => artifactStoreConfigFromEnv({ ARTIFACT_STORE: 'gcs' })).toThrow(/ARTIFACT_STORE/);
    expect(() => artifactStoreConfigFromEnv({ ARTIFACT_STORE: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'not a url', S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/S3_ENDPOINT.*S3_FORCE_PATH_STYLE/);
  });
});
