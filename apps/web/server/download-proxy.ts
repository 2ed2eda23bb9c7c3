/**
 * Model downloads: a plain link in the dashboard, so the browser sends the session cookie
 * but no CSRF header. A download only reads, and the cookie is SameSite=Strict, so the
 * cookie is accepted here for same-origin (or typed-in) navigations; the file streams
 * through from the API untouched.
 */
import { apiUrl, unreachable } from './api-proxy';
import { csrfRejection, readSessionCookie } from './session-cookie';

const FORWARDED = ['content-type', 'content-length', 'content-disposition', 'cache-control'];

export async function proxyDownload(request: Request, modelId: string): Promise<Response> {
  const token = readSessionCookie(request);
  if (!token) return Response.json({ errors: [{ message: 'sign in to download models', extensions: { code: 'UNAUTHENTICATED' } }] }, { status: 401 });
  const site = request.headers.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return csrfRejection(`the request came from a ${site} page`);
  let upstream: Response;
  try {
    upstream = await fetch(`${apiUrl()}/models/${encodeURIComponent(modelId)}/download`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch (e) {
    return unreachable(e);
  }
  const headers = new Headers();
  for (const name of FORWARDED) {
    const v = upstream.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  return new Response(upstream.body, { status: upstream.status, headers });
}
