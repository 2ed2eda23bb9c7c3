/**
 * The dashboard's `/upload` route handler streams: a 200 MB upload through the Next
 * process (`next start`) reaches the API whole, and the dashboard's peak resident memory
 * grows by far less than the upload (buffering would add all of it).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '@distillery/services';
import { groupPeakRss, patternBytes } from '../src/process-memory';
import { startStack, type Stack } from '../src/stack';

const MB = 1 << 20;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ web: true });
}, 900_000);
afterAll(async () => {
  await stack?.close();
});

async function peak(): Promise<number> {
  return Math.max(...(await groupPeakRss(stack.web!.child.pid!)).values());
}

describe('dashboard upload proxy', () => {
  it('streams 200 MB to the API without holding it', async () => {
    await graphql(stack.graphqlUrl, 'mutation { signUp(email: "stream@example.com", password: "correct horse battery") { message } }');
    const signedIn = await graphql<{ signIn: { token: string } }>(stack.graphqlUrl, 'mutation { signIn(email: "stream@example.com", password: "correct horse battery") { token } }');
    const token = signedIn.signIn.token;
    const team = await graphql<{ createTeam: { id: string } }>(stack.graphqlUrl, 'mutation { createTeam(name: "Streams") { id } }', {}, token);

    // Warm the route (first requests compile and cache it), so the baseline includes that.
    const warm = await fetch(`${stack.webUrl}/upload?teamId=${team.createTeam.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(1024),
    });
    expect(warm.status).toBe(201);
    const before = await peak();

    const total = 200 * MB;
    const hash = createHash('sha256');
    const source = patternBytes(total, MB);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await source.next();
        if (next.done) controller.close();
        else {
          hash.update(next.value);
          controller.enqueue(next.value);
        }
      },
    });
    const res = await fetch(`${stack.webUrl}/upload?teamId=${team.createTeam.id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    const answer = (await res.json()) as { sha256: string; bytes: number; teamId: string };
    expect(res.status).toBe(201);
    expect(answer).toEqual({ sha256: hash.digest('hex'), bytes: total, teamId: team.createTeam.id });
    const after = await peak();
    expect(after - before, `dashboard peak RSS grew from ${before} to ${after} bytes`).toBeLessThan(total / 4);
  }, 300_000);
});
