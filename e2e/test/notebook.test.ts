/**
 * The README's Python examples against a live stack: the snippet printed in README.md
 * (taken from the file as it is) and the fuller docs/examples/notebook.py, both standard
 * library only. They must list the project and the run with the run's recorded metric.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '@distillery/services';
import { createWorkspace, waitForRun, type FinishedRun, type Workspace } from '../src/scenario';
import { REPO_ROOT } from '@distillery/services';
import { startStack, type Stack } from '../src/stack';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'docs', 'examples', 'notebook.py');

let stack: Stack;
let ws: Workspace;
let finished: FinishedRun;

/** Python's "%.6g" for values of ordinary magnitude (no exponent), as the script prints them. */
function pythonG6(v: number): string {
  return String(Number(v.toPrecision(6)));
}

beforeAll(async () => {
  stack = await startStack();
  ws = await createWorkspace(stack.apiUrl, 'notebook');
  const created = await graphql<{ createRun: { id: string } }>(
    stack.graphqlUrl,
    'mutation($p: ID!, $m: ID!) { createRun(projectId: $p, baseModelId: $m, recipe: { steps: [{ technique: "quantize.rtn-int8" }] }) { id } }',
    { p: ws.projectId, m: ws.modelId },
    ws.token,
  );
  finished = await waitForRun(stack.apiUrl, ws.token, created.createRun.id);
});
afterAll(async () => {
  await stack?.close();
});

/** The first ```python block of README.md. */
async function readmePython(): Promise<string> {
  const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const m = /```python\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no python example');
  return m[1]!;
}

describe("README.md's Python snippet", () => {
  it('signs in and prints each run with its metrics', async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'readme-py-')), 'example.py');
    await writeFile(file, await readmePython());
    const env = { ...process.env, DISTILLERY_URL: stack.apiUrl, DISTILLERY_EMAIL: ws.email, DISTILLERY_PASSWORD: ws.password };
    const { stdout } = await run('python3', [file], { env });
    const ratio = finished.metrics.find((m) => m.name === 'ratio.size' && m.runStepId === null)!.value;
    const line = stdout.split('\n').find((l) => l.includes(finished.id));
    expect(line).toBeDefined();
    expect(line).toContain('succeeded');
    expect(line).toContain(`'ratio.size': ${ratio}`);
  });
});

describe('docs/examples/notebook.py', () => {
  it('prints the run and its size ratio when given a token', async () => {
    expect(finished.status).toBe('succeeded');
    const ratio = finished.metrics.find((m) => m.name === 'ratio.size' && m.runStepId === null)!.value;
    const { stdout } = await run('python3', [SCRIPT], { env: { ...process.env, DISTILLERY_URL: stack.apiUrl, DISTILLERY_TOKEN: ws.token } });
    expect(stdout).toContain('project int8');
    expect(stdout).toMatch(new RegExp(`run ${finished.id}\\s+succeeded\\s+quantize\\.rtn-int8 on tiny-decoder`));
    expect(stdout).toContain(`ratio.size=${pythonG6(ratio)}`);
    // Step-level figures are left out.
    expect(stdout).not.toContain('steps.0.');
  });

  it('signs in with email and password when no token is set', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DISTILLERY_URL: stack.apiUrl, DISTILLERY_EMAIL: ws.email, DISTILLERY_PASSWORD: ws.password };
    delete env.DISTILLERY_TOKEN;
    const { stdout } = await run('python3', [SCRIPT], { env });
    expect(stdout).toContain(`run ${finished.id}`);
  });
});
