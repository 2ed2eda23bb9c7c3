/**
 * The README's Python snippet against a live stack, taken from README.md as it is (standard
 * library only): it must list the run with the run's recorded metric. The fuller client,
 * docs/notebooks/distillery_client.py, has its own test (notebook-client.test.ts).
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

let stack: Stack;
let ws: Workspace;
let finished: FinishedRun;

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
    const env = { ...process.env, DISTILLERY_API_URL: stack.apiUrl, DISTILLERY_EMAIL: ws.email, DISTILLERY_PASSWORD: ws.password };
    const { stdout } = await run('python3', [file], { env });
    const ratio = finished.metrics.find((m) => m.name === 'ratio.size' && m.runStepId === null)!.value;
    const line = stdout.split('\n').find((l) => l.includes(finished.id));
    expect(line).toBeDefined();
    expect(line).toContain('succeeded');
    expect(line).toContain(`'ratio.size': ${ratio}`);
  });
});
