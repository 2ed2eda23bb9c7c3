/**
 * The `distillery` CLI as a child process against a live stack (API, worker process, real
 * Postgres): login stores an API token, import uploads and waits for the worker, run
 * --watch follows the run's events to its end, compare, leaderboard, download with every
 * sha256 checked, sweep (followed to its end, or to its cancellation), and the exit codes
 * of refused credentials and failed imports.
 * The API runs as its own process, as users run it (subscriptions included).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, REPO_ROOT } from '@distillery/services';
import { startProcessStack, type ProcessStack } from '../src/process-stack';
import { createWorkspace, tinyDecoderBytes, waitForRun, type Workspace } from '../src/scenario';

const BIN = path.join(REPO_ROOT, 'scripts', 'distillery.mjs');

let stack: ProcessStack;
let ws: Workspace;
let home: string;
let tmp: string;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a HOME of its own and no DISTILLERY_* settings unless given. */
function cli(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...opts.env };
  for (const k of ['DISTILLERY_TOKEN', 'DISTILLERY_API_URL', 'DISTILLERY_PASSWORD', 'DISTILLERY_EMAIL', 'XDG_CONFIG_HOME']) if (!opts.env?.[k]) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'cli-home-'));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cli-files-'));
  stack = await startProcessStack();
  ws = await createWorkspace(stack.apiUrl, 'cli');
});
afterAll(async () => {
  await stack?.close();
  if (home) await rm(home, { recursive: true, force: true });
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('distillery team commands against a live stack', () => {
  let runA: string;
  let runB: string;

  it('login stores a working API token in a file only its owner can read', async () => {
    const r = await cli(['login', '--email', ws.email, '--password-stdin', '--api-url', stack.apiUrl], { input: `${ws.password}\n` });
    expect(r.stderr).toBe('');
    expect(r.code, r.stderr).toBe(0);
    const file = path.join(home, '.config', 'distillery', 'credentials.json');
    expect(r.stdout).toContain(`signed in as ${ws.email}`);
    expect(r.stdout).toContain(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { apiUrl: string; token: string };
    expect(stored.apiUrl).toBe(stack.apiUrl);
    const { viewer } = await graphql<{ viewer: { email: string } }>(stack.graphqlUrl, '{ viewer { email } }', {}, stored.token);
    expect(viewer.email).toBe(ws.email);
    const { apiTokens } = await graphql<{ apiTokens: { name: string; revokedAt: string | null }[] }>(stack.graphqlUrl, '{ apiTokens { name revokedAt } }', {}, stored.token);
    expect(apiTokens.filter((t) => t.name.startsWith('cli ') && t.revokedAt === null)).toHaveLength(1);
  });

  it('exits 3 on refused credentials and 2 on usage errors', async () => {
    const wrong = await cli(['login', '--email', ws.email, '--password-stdin', '--api-url', stack.apiUrl], { input: 'not the password\n' });
    expect(wrong.code, wrong.stderr).toBe(3);
    expect(wrong.stderr).toMatch(/^distillery login: sign-in as .* refused/);
    const bogus = await cli(['compare', 'a', 'b'], { env: { DISTILLERY_TOKEN: 'not-a-token', DISTILLERY_API_URL: stack.apiUrl } });
    expect(bogus.code, bogus.stderr).toBe(3);
    expect(bogus.stdout).toBe('');
    expect(bogus.stderr).toMatch(/UNAUTHENTICATED/);
    const nobody = await cli(['leaderboard', '--metric', 'ratio.size'], { env: { HOME: tmp } });
    expect(nobody.code, nobody.stderr).toBe(3);
    expect(nobody.stderr).toContain('not signed in');
    const usage = await cli(['run', '--project', 'int8']);
    expect(usage.code, usage.stderr).toBe(2);
    expect(usage.stderr).toContain('run needs --project, --model and --recipe');
  });

  it('imports a file and a model folder and waits until they are ready; a file the worker refuses exits 1', async () => {
    const file = path.join(tmp, 'tiny.onnx');
    const bytes = tinyDecoderBytes(5);
    await writeFile(file, bytes);
    const r = await cli(['import', file, '--project', 'int8', '--name', 'cli-tiny']);
    expect(r.stderr).toContain('uploaded tiny.onnx');
    expect(r.code, r.stderr).toBe(0);
    const id = /^model (\S+) ready: cli-tiny, onnx, (\d+) parameters, sha256 ([0-9a-f]{64})$/m.exec(r.stdout);
    expect(id).not.toBeNull();
    expect(id![3]).toBe(sha256(bytes));
    const { model } = await graphql<{ model: { status: string; name: string } }>(stack.graphqlUrl, 'query($id: ID!) { model(id: $id) { status name } }', { id: id![1] }, ws.token);
    expect(model).toEqual({ status: 'ready', name: 'cli-tiny' });

    const folder = await cli(['import', path.join(REPO_ROOT, 'models', 'ref-base'), '--project', ws.projectId, '--json']);
    expect(folder.code, folder.stderr).toBe(0);
    const imported = JSON.parse(folder.stdout) as { id: string; status: string; parameterCount: number };
    expect(imported.status).toBe('ready');
    expect(imported.parameterCount).toBeGreaterThan(5_000_000);
    const { model: ref } = await graphql<{ model: { tokenizer: { sha256: string } | null } }>(stack.graphqlUrl, 'query($id: ID!) { model(id: $id) { tokenizer { sha256 } } }', { id: imported.id }, ws.token);
    expect(ref.tokenizer?.sha256).toBe(sha256(await readFile(path.join(REPO_ROOT, 'models', 'ref-base', 'tokenizer.json'))));

    const junk = path.join(tmp, 'junk.onnx');
    await writeFile(junk, 'these bytes are no model at all, not ONNX and not llama2.c');
    const refused = await cli(['import', junk, '--project', 'int8']);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/the import of .*junk\.onnx failed: /);
  });

  it('run --watch follows the run over the event subscription until it succeeded', async () => {
    const recipe = path.join(tmp, 'int8.json');
    await writeFile(recipe, JSON.stringify({ steps: [{ technique: 'quantize.rtn-int8' }] }));
    const r = await cli(['run', '--project', 'int8', '--model', 'tiny-decoder', '--recipe', recipe, '--tag', 'cli', '--watch']);
    expect(r.code, r.stderr).toBe(0);
    const line = /^run (\S+) succeeded: model (\S+) \(\d+ bytes, sha256 [0-9a-f]{64}\)$/m.exec(r.stdout);
    expect(line).not.toBeNull();
    runA = line![1]!;
    expect(r.stdout).toMatch(/^ {2}ratio\.size 0\.\d+/m);
    // Not a terminal: plain lines, from the subscription (no fallback to polling).
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain('polling instead');
    expect(r.stderr).toMatch(new RegExp(`^run ${runA} (queued|running) -> succeeded`, 'm'));
    expect(r.stderr).toMatch(/step 1\/1 quantize\.rtn-int8: succeeded/);

    const four = path.join(tmp, 'rtn4.json');
    await writeFile(four, JSON.stringify({ steps: [{ technique: 'quantize.rtn', params: { bits: 4, groupSize: 32 } }] }));
    const queued = await cli(['run', '--project', ws.projectId, '--model', ws.modelId, '--recipe', four, '--json']);
    expect(queued.code, queued.stderr).toBe(0);
    runB = (JSON.parse(queued.stdout) as { id: string; status: string }).id;
    expect((await waitForRun(stack.apiUrl, ws.token, runB)).status).toBe('succeeded');
  });

  it('run --watch polls when the API cannot be reached over a WebSocket', async () => {
    // A plain HTTP relay in front of the API: GraphQL POSTs pass, WebSocket upgrades are dropped.
    const relay = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const answer = await fetch(`${stack.apiUrl}${req.url}`, {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json'), authorization: String(req.headers.authorization ?? '') },
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
    relay.on('upgrade', (_req, socket) => socket.destroy());
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const recipe = path.join(tmp, 'int8-polled.json');
      await writeFile(recipe, JSON.stringify({ steps: [{ technique: 'quantize.rtn-int8' }] }));
      const r = await cli(['run', '--project', 'int8', '--model', 'tiny-decoder', '--recipe', recipe, '--watch'], {
        env: { DISTILLERY_API_URL: `http://127.0.0.1:${(relay.address() as AddressInfo).port}` },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/event subscription unavailable \(.*\); polling instead/);
      expect(r.stdout).toMatch(/^run \S+ succeeded: model /m);
    } finally {
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });

  it('compare prints the aligned table and the same figures as JSON', async () => {
    const json = await cli(['compare', runA, runB, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const cmp = JSON.parse(json.stdout) as { runs: { id: string }[]; metrics: { name: string; cells: { runId: string; value: number | null; ratio: number | null }[] }[]; recipeDiff: { path: string }[] };
    expect(cmp.runs.map((r) => r.id)).toEqual([runA, runB]);
    const size = cmp.metrics.find((m) => m.name === 'size.bytes')!;
    expect(size.cells[1]!.value!).toBeLessThan(size.cells[0]!.value!);
    const table = await cli(['compare', runA, runB]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[1]).toMatch(new RegExp(`^metric\\s+unit\\s+${runA}\\s+${runB}$`));
    const row = lines.find((l) => l.startsWith(`${size.name} `))!;
    expect(row).toContain(String(Number(size.cells[0]!.value!.toPrecision(6))));
    expect(row).toMatch(/\(-\d+(\.\d+)?% better\)/);
    expect(table.stdout).toMatch(/^recipe setting/m);
  });

  it('leaderboard ranks both runs by a metric, as JSON and as a table', async () => {
    const json = await cli(['leaderboard', '--metric', 'ratio.size', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const board = JSON.parse(json.stdout) as { entries: { rank: number; runId: string; value: number }[] };
    // The 4-bit run first; the int8 runs (this one and the polled one) after it.
    expect(board.entries[0]!.runId).toBe(runB);
    expect(board.entries.map((e) => e.runId)).toContain(runA);
    expect(board.entries.map((e) => e.rank)).toEqual(board.entries.map((_, i) => i + 1));
    expect(board.entries[0]!.value).toBeLessThan(board.entries.at(-1)!.value);
    const table = await cli(['leaderboard', '--metric', 'ratio.size', '--team', ws.teamId]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^\\s*1\\s+\\S+\\s+${runB}\\s+Team`, 'm'));
  });

  it('download writes every file of the produced model and checks each sha256', async () => {
    const { run } = await graphql<{ run: { outputModel: { id: string; files: { path: string; sha256: string; bytes: number }[] } } }>(
      stack.graphqlUrl,
      'query($id: ID!) { run(id: $id) { outputModel { id files { path sha256 bytes } } } }',
      { id: runA },
      ws.token,
    );
    const out = path.join(tmp, 'download');
    const r = await cli(['download', run.outputModel.id, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${run.outputModel.files.length} files`);
    expect(run.outputModel.files.map((f) => f.path)).toContain('onnx/model.onnx');
    for (const f of run.outputModel.files) {
      const bytes = await readFile(path.join(out, f.path));
      expect(bytes.byteLength).toBe(f.bytes);
      expect(sha256(bytes)).toBe(f.sha256);
      expect(r.stderr).toContain(`${f.path} ${f.bytes} bytes, sha256 ${f.sha256} verified`);
    }
  });

  it('sweep starts a grid sweep from a spec file', async () => {
    const spec = path.join(tmp, 'sweep.json');
    await writeFile(spec, JSON.stringify({ name: 'bits', mode: 'grid', recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 8 } }] }, space: [{ path: 'steps[0].params.bits', values: [8] }], maxRuns: 1, parallelism: 1 }));
    const r = await cli(['sweep', '--project', 'int8', '--model', 'tiny-decoder', '--spec', spec]);
    expect(r.code, r.stderr).toBe(0);
    const id = /^sweep (\S+) active: bits, grid, up to 1 runs$/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    const { sweep } = await graphql<{ sweep: { name: string; maxRuns: number } }>(stack.graphqlUrl, 'query($id: ID!) { sweep(id: $id) { name maxRuns } }', { id }, ws.token);
    expect(sweep).toEqual({ name: 'bits', maxRuns: 1 });
    await writeFile(spec, JSON.stringify({ name: 'bits', mode: 'grid', space: [], maxRuns: 0 }));
    const bad = await cli(['sweep', '--project', 'int8', '--model', 'tiny-decoder', '--spec', spec]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/--spec .*sweep\.json: space: /);
  });

  it('sweep --follow shows the runs finishing and the best value so far, and exits 0 when the sweep is done', async () => {
    const spec = path.join(tmp, 'sweep-follow.json');
    await writeFile(spec, JSON.stringify({ name: 'bits followed', mode: 'grid', recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 8 } }] }, space: [{ path: 'steps[0].params.bits', values: [8, 4] }], maxRuns: 2, parallelism: 1 }));
    const r = await cli(['sweep', '--project', 'int8', '--model', 'tiny-decoder', '--spec', spec, '--follow', '--metric', 'ratio.size']);
    expect(r.code, r.stderr).toBe(0);
    const id = /^sweep (\S+) active: bits followed, grid, up to 2 runs$/m.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    const { sweep } = await graphql<{ sweep: { status: string; runs: { id: string; metrics: { name: string; value: number }[] }[] } }>(
      stack.graphqlUrl, 'query($id: ID!) { sweep(id: $id) { status runs { id metrics { name value } } } }', { id }, ws.token);
    expect(sweep.status).toBe('done');
    expect(sweep.runs).toHaveLength(2);
    // 4 bits is smaller than 8: the best (lowest) size ratio is the second run's.
    const ratios = sweep.runs.map((run) => run.metrics.find((m) => m.name === 'ratio.size')!.value);
    expect(ratios[1]!).toBeLessThan(ratios[0]!);
    const bestLine = `best ratio.size ${ratios[1]!.toPrecision(4)} (run ${sweep.runs[1]!.id})`;
    expect(r.stdout).toContain(`sweep ${id} done: 2 runs, 2 succeeded; ${bestLine}`);
    // Progress as plain lines (not a terminal): the tally with the best so far, and a line per finished run.
    expect(r.stderr).toMatch(/^\d+% 0\/2 runs done, [01] running · best ratio\.size -$/m);
    // The halfway tally is printed only when a poll lands between the two runs' ends; the final one always is.
    expect(r.stderr).toMatch(new RegExp(`^100% 2/2 runs done, 0 running · ${bestLine.replace(/[.()]/g, '\\$&')}$`, 'm'));
    for (const run of sweep.runs) expect(r.stderr).toMatch(new RegExp(`^run ${run.id} succeeded ratio\\.size `, 'm'));
  });

  it('sweep --follow exits 1 saying so when the sweep is canceled', async () => {
    const spec = path.join(tmp, 'sweep-cancel.json');
    await writeFile(spec, JSON.stringify({ name: 'to cancel', mode: 'grid', recipe: { steps: [{ technique: 'quantize.rtn', params: { bits: 8 } }] }, space: [{ path: 'steps[0].params.bits', values: [8, 6, 4, 3] }], maxRuns: 4, parallelism: 1 }));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    for (const k of ['DISTILLERY_TOKEN', 'DISTILLERY_API_URL', 'DISTILLERY_PASSWORD', 'DISTILLERY_EMAIL', 'XDG_CONFIG_HOME']) delete env[k];
    const child = spawn(process.execPath, [BIN, 'sweep', '--project', 'int8', '--model', 'tiny-decoder', '--spec', spec, '--follow'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const id = await new Promise<string>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /^sweep (\S+) active/m.exec(stdout);
        if (m) resolve(m[1]!);
      });
    });
    const canceled = await graphql<{ cancelSweep: { status: string } }>(stack.graphqlUrl, 'mutation($id: ID!) { cancelSweep(id: $id) { status } }', { id }, ws.token);
    expect(['canceling', 'canceled']).toContain(canceled.cancelSweep.status);
    expect(await closed, stderr).toBe(1);
    expect(stderr).toMatch(new RegExp(`distillery sweep: sweep ${id} was canceled: [1-4] runs, `));
    const { sweep } = await graphql<{ sweep: { status: string; runs: { status: string }[] } }>(stack.graphqlUrl, 'query($id: ID!) { sweep(id: $id) { status runs { status } } }', { id }, ws.token);
    expect(sweep.status).toBe('canceled');
    expect(sweep.runs.length).toBeLessThan(4);
    expect(sweep.runs.every((run) => ['succeeded', 'failed', 'canceled'].includes(run.status))).toBe(true);
  });
});
