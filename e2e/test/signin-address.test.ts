/**
 * The per-address sign-in limit counts the address the dashboard's socket saw, so a
 * browser cannot get a fresh allowance by sending its own X-Forwarded-For, neither
 * through the dashboard's sign-in route nor through its /graphql proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../src/stack';

let stack: Stack;
const FREE_PER_ADDRESS = 3;

beforeAll(async () => {
  stack = await startStack({
    web: true,
    apiConfig: {
      signInLimits: { freeFailuresPerAccount: 100, freeFailuresPerAddress: FREE_PER_ADDRESS, backoffBaseSeconds: 60, backoffMaxSeconds: 600, failureWindowSeconds: 3600 },
    },
  });
});
afterAll(async () => stack?.close());

interface Answer {
  errors?: { message: string; extensions?: { code?: string } }[];
}

async function signInThroughSession(i: number): Promise<Answer> {
  const res = await fetch(`${stack.webUrl}/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-distillery-csrf': '1', 'x-forwarded-for': `203.0.113.${i}` },
    body: JSON.stringify({ email: `nobody-${i}@example.com`, password: 'not the password' }),
  });
  return (await res.json()) as Answer;
}

describe('sign-in limits per address behind the dashboard', () => {
  it('ignore a client-sent X-Forwarded-For: rotating it gives no fresh allowance', async () => {
    const codes: (string | undefined)[] = [];
    // Different emails each time, so only the per-address limit can stop them.
    for (let i = 0; i < FREE_PER_ADDRESS + 2; i++) codes.push((await signInThroughSession(i)).errors?.[0]?.extensions?.code);
    expect(codes.slice(0, FREE_PER_ADDRESS)).toEqual(Array(FREE_PER_ADDRESS).fill('UNAUTHENTICATED'));
    expect(codes.slice(FREE_PER_ADDRESS)).toEqual(['TOO_MANY_ATTEMPTS', 'TOO_MANY_ATTEMPTS']);

    // The /graphql proxy forwards to the same API: the spoofed header does not help there either.
    const res = await fetch(`${stack.webUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
      body: JSON.stringify({ query: 'mutation { signIn(email: "someone-else@example.com", password: "not the password") { token } }' }),
    });
    const body = (await res.json()) as Answer;
    expect(body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_ATTEMPTS');
  });
});
