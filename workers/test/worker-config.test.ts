import { describe, expect, it } from 'vitest';
import { workerConfigFromEnv } from '../src/worker-config';

describe('worker configuration', () => {
  it('takes every job kind and collects garbage hourly by default', () => {
    const c = workerConfigFromEnv({});
    expect(c.tasks).toEqual(['execute-run', 'import-model', 'advance-sweep']);
    expect(c.blobGc).toEqual({ intervalMs: 3_600_000, graceMs: 3_600_000, uploadGraceMs: 86_400_000 });
  });

  it('reads WORKER_TASKS and the GC settings, refusing unknown task names', () => {
    const c = workerConfigFromEnv({ WORKER_TASKS: ' import-model ', BLOB_GC_INTERVAL_MS: '0', BLOB_GC_GRACE_MS: '10', UPLOAD_GRACE_MS: '20' });
    expect(c.tasks).toEqual(['import-model']);
    expect(c.blobGc).toEqual({ intervalMs: 0, graceMs: 10, uploadGraceMs: 20 });
    expect(() => workerConfigFromEnv({ WORKER_TASKS: 'execute-run,import' })).toThrow(/WORKER_TASKS: unknown task import/);
    expect(() => workerConfigFromEnv({ BLOB_GC_GRACE_MS: '-1' })).toThrow(/BLOB_GC_GRACE_MS/);
  });
});
