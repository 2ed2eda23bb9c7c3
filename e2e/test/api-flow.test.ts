/**
 * The API end to end over real HTTP, with a real worker process: sign up, upload a model,
 * create an int8 run, poll until it succeeds, and read its metrics and output model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, GraphqlCallError } from '@distillery/services';
import { createWorkspace, waitForRun, type Workspace } from '../src/scenario';
import { startStack, type Stack } from '../src/stack';

let stack: Stack;
let ws: Workspace;

beforeAll(async () => {
  stack = await startStack();
  ws = await createWorkspace(stack.apiUrl, 'api');
});
afterAll(async () => {
  await stack?.close();
});

describe('API over HTTP with a worker', () => {
  it('refuses anonymous requests', async () => {
    const err = await graphql(stack.graphqlUrl, '{ teams { id } }').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphqlCallError);
    expect((err as GraphqlCallError).hasCode('UNAUTHENTICATED')).toBe(true);
  });

  it('runs int8 quantization on an uploaded model and records its metrics', async () => {
    const { techniques } = await graphql<{ techniques: { id: string }[] }>(stack.graphqlUrl, '{ techniques { id } }', {}, ws.token);
    expect(techniques.map((t) => t.id)).toContain('quantize.rtn-int8');

    const created = await graphql<{ createRun: { id: string; status: string } }>(
      stack.graphqlUrl,
      'mutation($p: ID!, $m: ID!, $r: JSON!) { createRun(projectId: $p, baseModelId: $m, recipe: $r, seed: 1) { id status } }',
      { p: ws.projectId, m: ws.modelId, r: { steps: [{ technique: 'quantize.rtn-int8' }] } },
      ws.token,
    );
    expect(created.createRun.status).toBe('queued');

    const run = await waitForRun(stack.apiUrl, ws.token, created.createRun.id);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const metric = (name: string) => run.metrics.find((m) => m.name === name && m.runStepId === null)?.value;
    const ratio = metric('ratio.size');
    const bytes = metric('size.bytes');
    const baseBytes = metric('base.size.bytes');
    // int8 weights take a quarter of float32 bytes; scales and float norms/embeddings add some back.
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.6);
    expect(bytes! / baseBytes!).toBeCloseTo(ratio!, 10);
    expect(run.outputModel?.bytes).toBe(bytes);

    // The run appears in the project's connection, newest first.
    const { runs } = await graphql<{ runs: { edges: { node: { id: string; status: string } }[] } }>(
      stack.graphqlUrl,
      'query($p: ID!) { runs(projectId: $p, first: 5) { edges { node { id status } } } }',
      { p: ws.projectId },
      ws.token,
    );
    expect(runs.edges[0]?.node).toEqual({ id: run.id, status: 'succeeded' });
  });
});
