/**
 * The dashboard's sign-in and sign-out. GET says whether a session cookie is present;
 * POST signs in through the API's `signIn` and
 * keeps the session token in an httpOnly cookie (never handed to page scripts); DELETE
 * ends the session on the server (`signOut`) and clears the cookie.
 */
import { apiUrl, forwardedHeaders, unreachable } from '../../server/api-proxy';
import { clearedSessionCookie, crossSiteProblem, csrfRejection, isHttps, readSessionCookie, sessionCookie } from '../../server/session-cookie';

export const dynamic = 'force-dynamic';

const SIGN_IN = `mutation SignIn($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { token session { expiresAt } user { id email name } }
}`;

interface GraphqlAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function callApi<T>(request: Request, query: string, variables: Record<string, unknown>, authorization?: string): Promise<{ status: number; body: GraphqlAnswer<T> }> {
  const headers = forwardedHeaders(request, authorization);
  headers.set('content-type', 'application/json');
  headers.set('accept', 'application/graphql-response+json, application/json');
  headers.delete('content-length');
  const res = await fetch(`${apiUrl()}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }), cache: 'no-store' });
  return { status: res.status, body: (await res.json()) as GraphqlAnswer<T> };
}

/** Whether a session cookie came with the request; page scripts cannot see the httpOnly cookie themselves. */
export function GET(request: Request): Response {
  return Response.json({ signedIn: readSessionCookie(request) !== null }, { headers: { 'cache-control': 'no-store' } });
}

export async function POST(request: Request): Promise<Response> {
  // Same-origin only, so another site cannot sign a visitor into an account of its choosing.
  const problem = crossSiteProblem(request);
  if (problem) return csrfRejection(problem);
  let input: { email?: unknown; password?: unknown };
  try {
    input = (await request.json()) as typeof input;
  } catch {
    return Response.json({ errors: [{ message: 'send {"email", "password"} as JSON', extensions: { code: 'BAD_REQUEST' } }] }, { status: 400 });
  }
  let answer: { status: number; body: GraphqlAnswer<{ signIn: { token: string; session: { expiresAt: string }; user: unknown } }> };
  try {
    answer = await callApi(request, SIGN_IN, { email: input.email, password: input.password });
  } catch (e) {
    return unreachable(e);
  }
  const signIn = answer.body.data?.signIn;
  if (!signIn) return Response.json({ errors: answer.body.errors ?? [] }, { status: answer.status >= 400 ? answer.status : 401 });
  const res = Response.json({ user: signIn.user });
  res.headers.append('set-cookie', sessionCookie(signIn.token, new Date(signIn.session.expiresAt), isHttps(request)));
  return res;
}

export async function DELETE(request: Request): Promise<Response> {
  const problem = crossSiteProblem(request);
  if (problem) return csrfRejection(problem);
  const token = readSessionCookie(request);
  let signedOut = false;
  if (token) {
    try {
      const answer = await callApi<{ signOut: boolean }>(request, 'mutation { signOut }', {}, `Bearer ${token}`);
      signedOut = answer.body.data?.signOut === true;
    } catch (e) {
      // Keep the cookie: the session is still valid on the server, so say so rather than pretend.
      return unreachable(e);
    }
  }
  const res = Response.json({ signedOut });
  res.headers.append('set-cookie', clearedSessionCookie(isHttps(request)));
  return res;
}
