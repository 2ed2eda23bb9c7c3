/**
 * Child processes of the platform (API, worker, dashboard) as `npm start` and the e2e
 * stacks run them: spawned with the repository's Node and tsx, output captured (and
 * optionally echoed with a prefix), stopped by a signal to their own process group so a
 * terminal's Ctrl-C reaches only the supervisor, which then stops them in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const WEB_DIR = path.join(REPO_ROOT, 'apps', 'web');

export interface Service {
  name: string;
  child: ChildProcess;
  /** Everything printed so far (bounded to the last ~200 KB). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Signal the process group, wait for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface SpawnServiceOptions {
  name: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Echo each output line as `[name] line` to this stream. */
  echo?: NodeJS.WritableStream;
}

const MAX_KEPT = 200_000;

export function spawnService(opts: SpawnServiceOptions): Service {
  const child = spawn(process.execPath, opts.args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C goes to the supervisor only, which stops children in order.
    detached: true,
  });
  let out = '';
  let partial = '';
  const onData = (d: Buffer) => {
    const text = d.toString();
    out = (out + text).slice(-MAX_KEPT);
    if (opts.echo) {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) opts.echo.write(`[${opts.name}] ${line}\n`);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stopping: Promise<void> | null = null;
  return {
    name: opts.name,
    child,
    output: () => out,
    exited,
    stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        signalGroup(child, signal);
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** A TCP port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers with a status below 500; fails early if `service` exits. */
export async function waitForHttp(url: string, timeoutMs: number, service?: Service): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service && (service.child.exitCode !== null || service.child.signalCode !== null)) {
      throw new Error(`${service.name} exited before ${url} answered:\n${service.output().slice(-4000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${url}${service ? `:\n${service.output().slice(-4000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until `text` appears in the service's output. */
export async function waitForOutput(service: Service, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!service.output().includes(text)) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) throw new Error(`${service.name} exited:\n${service.output().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${service.name} to print ${text}:\n${service.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A child that never became ready is ended, so a failed (re)start leaves no process behind. */
async function stopIfNotReady(service: Service, ready: Promise<void>): Promise<void> {
  try {
    await ready;
  } catch (error) {
    await service.stop('SIGKILL');
    throw error;
  }
}

export interface ApiEnv {
  port: number;
  /** DATABASE_URL, ARTIFACTS_DIR and any other setting of the API process. */
  env: Record<string, string>;
  echo?: NodeJS.WritableStream;
}

/** `apps/api/src/main.ts` as a process; resolves once /health answers. */
export async function startApiProcess(a: ApiEnv): Promise<Service> {
  const service = spawnService({
    name: 'api',
    args: ['--import', 'tsx', 'apps/api/src/main.ts'],
    env: { ...a.env, API_PORT: String(a.port) },
    echo: a.echo,
  });
  await stopIfNotReady(service, waitForHttp(`http://127.0.0.1:${a.port}/health`, 60_000, service));
  return service;
}

export interface WorkerEnv {
  databaseUrl: string;
  artifactsDir: string;
  threads?: number;
  logLevel?: string;
  echo?: NodeJS.WritableStream;
  extraEnv?: Record<string, string>;
}

/** `workers/src/main.ts` as a process; resolves once it takes jobs. */
export async function startWorkerProcess(w: WorkerEnv): Promise<Service> {
  const service = spawnService({
    name: 'worker',
    args: ['--import', 'tsx', 'workers/src/main.ts'],
    env: {
      DATABASE_URL: w.databaseUrl,
      ARTIFACTS_DIR: w.artifactsDir,
      LOG_LEVEL: w.logLevel ?? 'info',
      ...(w.threads ? { WORKER_THREADS: String(w.threads) } : {}),
      ...w.extraEnv,
    },
    echo: w.echo,
  });
  await stopIfNotReady(service, waitForOutput(service, '"worker started"', 120_000));
  return service;
}

export interface WebEnv {
  port: number;
  apiUrl: string;
  echo?: NodeJS.WritableStream;
}

const requireFromWeb = createRequire(path.join(WEB_DIR, 'package.json'));

export function nextBin(): string {
  return requireFromWeb.resolve('next/dist/bin/next');
}

/** `next start` on a finished build; resolves once the sign-in page answers. */
export async function startWebProcess(w: WebEnv): Promise<Service> {
  const service = spawnService({
    name: 'web',
    // apps/web/server.mjs: Next's handler behind a server that sets the client address itself.
    args: [path.join(WEB_DIR, 'server.mjs')],
    cwd: WEB_DIR,
    env: { API_URL: w.apiUrl, WEB_PORT: String(w.port), WEB_HOST: '127.0.0.1', NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    echo: w.echo,
  });
  await stopIfNotReady(service, waitForHttp(`http://127.0.0.1:${w.port}/signin`, 60_000, service));
  return service;
}
