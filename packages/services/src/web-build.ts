/**
 * Builds the dashboard (`next build`) when there is no build or a source file is newer
 * than it, once per machine at a time (a lock folder), so `npm start` and every e2e
 * stack reuse one production build instead of paying for a build each.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nextBin, WEB_DIR } from './services';

const BUILD_ID = path.join(WEB_DIR, '.next', 'BUILD_ID');
const LOCK_DIR = path.join(WEB_DIR, '.next-build.lock');
const IGNORED = new Set(['.next', 'node_modules', '.next-build.lock', 'next-env.d.ts']);

/** Newest modification time of the dashboard's sources (ms since epoch). */
export async function newestSourceMtime(dir = WEB_DIR): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSourceMtime(p));
    else if (entry.isFile()) newest = Math.max(newest, (await stat(p)).mtimeMs);
  }
  return newest;
}

export async function webBuildIsFresh(): Promise<boolean> {
  try {
    const built = (await stat(BUILD_ID)).mtimeMs;
    return built >= (await newestSourceMtime());
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function acquireLock(timeoutMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(path.join(LOCK_DIR, 'pid'), String(process.pid));
      return () => rm(LOCK_DIR, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(await readFile(path.join(LOCK_DIR, 'pid'), 'utf8').catch(() => 'NaN'));
      // A lock left by a dead process (or one that died before writing its pid) is stale.
      if (!Number.isInteger(holder) || !pidAlive(holder)) {
        const age = Date.now() - (await stat(LOCK_DIR).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
        if (Number.isInteger(holder) || age > 5_000) await rm(LOCK_DIR, { recursive: true, force: true });
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for another dashboard build (lock ${LOCK_DIR})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

export interface WebBuildResult {
  built: boolean;
  ms: number;
}

/** Runs `next build` unless the build is fresh; `log` receives the build's output. */
export async function ensureWebBuild(log: (line: string) => void = () => {}): Promise<WebBuildResult> {
  const started = Date.now();
  if (await webBuildIsFresh()) return { built: false, ms: 0 };
  const release = await acquireLock(10 * 60_000);
  try {
    // Someone else may have built it while we waited.
    if (await webBuildIsFresh()) return { built: false, ms: Date.now() - started };
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [nextBin(), 'build'], {
        cwd: WEB_DIR,
        env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        for (const line of d.toString().split('\n')) if (line.trim()) log(line);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`next build failed (exit ${code}):\n${out.slice(-6000)}`))));
    });
    return { built: true, ms: Date.now() - started };
  } finally {
    await release();
  }
}
