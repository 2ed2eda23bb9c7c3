import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/index.ts';
import { query } from './sql-query';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'distillery-embedded-'));
  // As root the server runs as the `postgres` user, which must be able to
  // reach the data folder; mkdtemp makes the folder private to us.
  await chmod(root, 0o755);
});
afterAll(async () => rm(root, { recursive: true, force: true }));

describe('startEmbeddedPostgres', () => {
  it('initialises an empty folder, serves queries, stops, and keeps the data across restarts', async () => {
    const dataDir = path.join(root, 'cluster');
    const port = await freePort();

    const first = await startEmbeddedPostgres({ dataDir, port });
    expect(first.reused).toBe(false);
    expect(first.url).toBe(`postgresql://postgres:distillery@127.0.0.1:${port}/distillery`);
    await query(first.url, 'CREATE TABLE kept (value text); INSERT INTO kept VALUES ($$still here$$)');
    await first.stop();
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow();

    const second = await startEmbeddedPostgres({ dataDir, port });
    try {
      expect(second.reused).toBe(false);
      expect(await query<{ value: string }>(second.url, 'SELECT value FROM kept')).toEqual([{ value: 'still here' }]);
    } finally {
      await second.stop();
    }
  });

  it('adopts a server left running by a crashed process and stops it', async () => {
    const dataDir = path.join(root, 'crashed');
    const port = await freePort();
    // A separate Node process starts the server, then dies without cleanup.
    const script = path.join(root, 'crash.mts');
    const moduleUrl = pathToFileURL(fileURLToPath(new URL('../src/embedded-postgres.ts', import.meta.url))).href;
    await writeFile(
      script,
      `import { startEmbeddedPostgres } from ${JSON.stringify(moduleUrl)};\n` +
        `await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });\n` +
        `process.kill(process.pid, 'SIGKILL');\n`,
    );
    const crashed = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(true);

    // Asked for another port, it still finds the orphan through postmaster.pid.
    const adopted = await startEmbeddedPostgres({ dataDir, port: await freePort() });
    expect(adopted.reused).toBe(true);
    expect(adopted.port).toBe(port);
    expect(await query<{ one: number }>(adopted.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await adopted.stop();
    expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
  });
});
