/**
 * Which artifact store a process uses, from its environment: the local folder
 * (ARTIFACTS_DIR) by default, or an S3-compatible bucket with ARTIFACT_STORE=s3. S3
 * credentials come from the SDK's usual sources (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles), never from our own variables.
 */
import path from 'node:path';
import { z } from 'zod';
import type { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';
import { S3ArtifactStore } from './s3-artifact-store';

const EnvSchema = z.object({
  ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  ARTIFACTS_DIR: z.string().min(1).default('.data/artifacts'),
  S3_BUCKET: z.string().min(1).optional(),
  S3_PREFIX: z.string().default(''),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: z.enum(['0', '1', 'true', 'false']).default('0'),
});

export type ArtifactStoreConfig =
  | { kind: 'local'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint: string | undefined; region: string; forcePathStyle: boolean };

/** Throws one error naming every bad variable; empty strings count as unset. */
export function artifactStoreConfigFromEnv(env: Record<string, string | undefined> = process.env): ArtifactStoreConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const r = EnvSchema.safeParse(cleaned);
  if (!r.success) throw new Error(`invalid artifact store configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = r.data;
  if (e.ARTIFACT_STORE === 'local') return { kind: 'local', dir: path.resolve(e.ARTIFACTS_DIR) };
  if (e.S3_BUCKET === undefined) throw new Error('invalid artifact store configuration: S3_BUCKET is required when ARTIFACT_STORE=s3');
  const prefix = e.S3_PREFIX === '' || e.S3_PREFIX.endsWith('/') ? e.S3_PREFIX : `${e.S3_PREFIX}/`;
  return {
    kind: 's3',
    bucket: e.S3_BUCKET,
    prefix,
    endpoint: e.S3_ENDPOINT,
    region: e.S3_REGION,
    forcePathStyle: e.S3_FORCE_PATH_STYLE === '1' || e.S3_FORCE_PATH_STYLE === 'true',
  };
}

export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  if (config.kind === 'local') return new LocalArtifactStore(config.dir);
  return new S3ArtifactStore({
    bucket: config.bucket,
    prefix: config.prefix,
    client: { region: config.region, forcePathStyle: config.forcePathStyle, ...(config.endpoint ? { endpoint: config.endpoint } : {}) },
  });
}

export function describeArtifactStore(config: ArtifactStoreConfig): string {
  return config.kind === 'local' ? `local folder ${config.dir}` : `s3://${config.bucket}/${config.prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
}
