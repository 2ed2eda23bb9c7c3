/**
 * Forwards a dashboard request to the API named by API_URL. A route handler rather than
 * a next.config rewrite because rewrites are frozen into the build, and the same build
 * must serve `npm start` (port 4000) and the e2e stacks (ephemeral ports).
 */
import { crossSiteProblem, csrfRejection, readSessionCookie } from './session-cookie';

export function apiUrl(): string {
  return (process.env.API_URL ?? 'http://127.0.0.1:4000').replace(/\/+$/, '');
}

/**
 * Request headers the API cares about; hop-by-hop ones (host, connection) stay behind.
 * x-forwarded-for carries the browser's address (Next sets it from the socket unless a
 * proxy in front already did), which the API's sign-in limits count per address.
 */
const FORWARDED_REQUEST = ['authorization', 'content-type', 'content-length', 'accept', 'user-agent', 'x-forwarded-for'];
const FORWARDED_RESPONSE = ['content-type', 'cache-control', 'retry-after'];

export function unreachable(e: unknown): Response {
  const body = { errors: [{ message: `the API at ${apiUrl()} is unreachable (${(e as Error).message})`, extensions: { code: 'API_UNREACHABLE' } }] };
  return Response.json(body, { status: 502 });
}

/** Headers for an API call on behalf of `request`: the forwarded ones, plus `authorization` when given. */
export function forwardedHeaders(request: Request, authorization?: string): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST) {
    const v = request.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  if (authorization) headers.set('authorization', authorization);
  return headers;
}

export async function proxyToApi(request: Request, path: string): Promise<Response> {
  let authorization: string | undefined;
  const cookieToken = readSessionCookie(request);
  // A client sending its own bearer token (a script using the dashboard's address) needs no cookie.
  if (!request.headers.get('authorization') && cookieToken) {
    const problem = crossSiteProblem(request);
    if (problem) return csrfRejection(problem);
    authorization = `Bearer ${cookieToken}`;
  }
  const headers = forwardedHeaders(request, authorization);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  let upstream: Response;
  try {
    upstream = await fetch(`${apiUrl()}${path}`, {
      method: request.method,
      headers,
      // Passed on as a stream (uploads take server/upload-proxy.ts, which keeps backpressure).
      body: hasBody ? request.body : undefined,
      ...(hasBody ? { duplex: 'half' } : {}),
      redirect: 'manual',
      cache: 'no-store',
    } as RequestInit);
  } catch (e) {
    return unreachable(e);
  }
  const out = new Headers();
  for (const name of FORWARDED_RESPONSE) {
    const v = upstream.headers.get(name);
    if (v !== null) out.set(name, v);
  }
  return new Response(upstream.body, { status: upstream.status, headers: out });
}
