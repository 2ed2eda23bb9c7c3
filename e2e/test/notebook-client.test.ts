/**
 * docs/notebooks/distillery_client.py with python3 against a live stack: it lists and
 * compares the project's runs, logs a toy training loop's loss to an external run (resending
 * one batch, as after a lost answer), starts a sweep and reads the leaderboard. Every logged
 * point is in the database exactly once; the notebook is the script's cells.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, REPO_ROOT } from '@distillery/services';
import { startProcessStack, type ProcessStack } from '../src/process-stack';
import { createWorkspace, waitForRun, type Workspace } from '../src/scenario';

const run = promisify(execFile);
const DIR = path.join(REPO_ROOT, 'docs', 'notebooks');

let stack: ProcessStack;
let ws: Workspace;
const runs: string[] = [];

beforeAll(async () => {
  stack = await startProcessStack();
  ws = await createWorkspace(stack.apiUrl, 'notebook-client');
  for (const step of [{ technique: 'quantize.rtn-int8' }, { technique: 'quantize.rtn', params: { bits: 4, groupSize: 32 } }]) {
    const { createRun } = await graphql<{ createRun: { id: string } }>(stack.graphqlUrl, 'mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r) { id } }', { p: ws.projectId, m: ws.modelId, r: { steps: [step] } }, ws.token);
    runs.push(createRun.id);
  }
  for (const id of runs) expect((await waitForRun(stack.apiUrl, ws.token, id)).status).toBe('succeeded');
});
afterAll(async () => {
  await stack?.close();
});

describe('docs/notebooks/distillery_client.py', () => {
  it('lists, compares, logs metrics exactly once, starts a sweep and reads the leaderboard', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DISTILLERY_API_URL: stack.apiUrl, DISTILLERY_TOKEN: ws.token };
    delete env.DISTILLERY_PROJECT;
    delete env.DISTILLERY_MODEL;
    const { stdout } = await run('python3', [path.join(DIR, 'distillery_client.py')], { env });
    expect(stdout).toContain(`project int8 (${ws.projectId})`);
    expect(stdout).toContain(`base model tiny-decoder (${ws.modelId})`);
    for (const id of runs) expect(stdout).toMatch(new RegExp(`^run ${id} succeeded\\s+quantize\\.rtn`, 'm'));
    expect(stdout).toMatch(/^2 runs$/m);
    // The 4-bit run is smaller than the int8 one; both are smaller than the base model.
    const size = /^compare size\.bytes\s+(\d+) \(x([\d.]+)\)\s+(\d+) \(x([\d.]+)\)$/m.exec(stdout);
    expect(size).not.toBeNull();
    const [, newer, newerRatio, older, olderRatio] = size!.map(Number);
    expect(newer).toBeLessThan(older!);
    expect(newerRatio).toBeLessThan(1);
    expect(olderRatio).toBeLessThan(1);

    expect(stdout).toContain('logged 60 points (0 duplicates); retry of the last batch: accepted 0, duplicates 20');
    const externalId = /^external run (\S+) running$/m.exec(stdout)![1]!;
    const stored = await stack.db.prisma.metric.findMany({ where: { runId: externalId, name: 'train/loss' }, orderBy: { step: 'asc' }, select: { step: true, value: true } });
    expect(stored.map((m) => m.step)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const finalLoss = Number(/^final loss (\S+),/m.exec(stdout)![1]);
    // The last point logged is the loss before the last update, so it is at least the printed final loss.
    expect(stored[59]!.value).toBeGreaterThanOrEqual(finalLoss - 1e-6);
    expect(stored[0]!.value).toBeGreaterThan(stored[59]!.value);

    const sweepId = /^sweep (\S+) active, up to 2 runs, started \d+$/m.exec(stdout)![1]!;
    const sweep = await stack.db.prisma.sweep.findUnique({ where: { id: sweepId }, select: { name: true, maxRuns: true, projectId: true } });
    expect(sweep).toEqual({ name: 'rtn bits', maxRuns: 2, projectId: ws.projectId });

    const ranked = [...stdout.matchAll(/^rank (\d+) ratio\.size=(\S+) run (\S+) /gm)].map((m) => m[3]);
    expect(ranked.slice(0, 2)).toEqual([runs[1], runs[0]]);
  });

  it('signs in with email and password when no token is given', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DISTILLERY_API_URL: stack.apiUrl, DISTILLERY_EMAIL: ws.email, DISTILLERY_PASSWORD: ws.password, DISTILLERY_PROJECT: 'int8', DISTILLERY_MODEL: 'tiny-decoder' };
    delete env.DISTILLERY_TOKEN;
    const { stdout } = await run('python3', [path.join(DIR, 'distillery_client.py')], { env });
    expect(stdout).toContain(`base model tiny-decoder (${ws.modelId})`);
    expect(stdout).toContain('retry of the last batch: accepted 0, duplicates 20');
  });
});

describe('docs/notebooks/distillery.ipynb', () => {
  it('is nbformat 4 JSON whose code cells are the script', async () => {
    await run('python3', [path.join(DIR, 'build_notebook.py'), '--check']);
    const nb = JSON.parse(await readFile(path.join(DIR, 'distillery.ipynb'), 'utf8')) as { nbformat: number; cells: { cell_type: string; id: string; source: string[]; outputs?: unknown[] }[] };
    expect(nb.nbformat).toBe(4);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThanOrEqual(6);
    for (const c of nb.cells) expect(c.id).toMatch(/^[a-zA-Z0-9-_]{1,64}$/);
    const script = await readFile(path.join(DIR, 'distillery_client.py'), 'utf8');
    for (const c of code) expect(script).toContain(c.source.join(''));
    expect(code.map((c) => c.source.join('')).join('\n')).toContain('logMetrics');
  });
});
