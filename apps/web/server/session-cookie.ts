/**
 * The dashboard's session lives in an httpOnly cookie that page scripts cannot read, so
 * an injected script cannot steal it. The route handlers turn it into the
 * `Authorization: Bearer` header the API expects, but only for requests from the
 * dashboard's own pages (CSRF): those carry CSRF_HEADER, which a page on another origin
 * cannot send without a CORS preflight that is never granted, and a same-site Origin.
 */
import { readSessionCookieHeader, SESSION_COOKIE } from './session-cookie-read.mjs';

export { SESSION_COOKIE };
/** Sent by the dashboard's own fetches (client/graphql.ts). */
export const CSRF_HEADER = 'x-distillery-csrf';

/** What these checks read of a request: its headers (a fetch Request, or a Node request's headers wrapped in Headers). */
export interface HeaderSource {
  headers: { get(name: string): string | null };
}

export function readSessionCookie(request: HeaderSource): string | null {
  return readSessionCookieHeader(request.headers);
}

/** True when the browser reached us over https (directly or through a proxy that says so). */
export function isHttps(request: Request): boolean {
  const proto = request.headers.get('x-forwarded-proto');
  return proto ? proto.split(',')[0]!.trim() === 'https' : new URL(request.url).protocol === 'https:';
}

/** Set-Cookie for a session ending at `expiresAt`; Secure whenever the dashboard is served over https. */
export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
  return [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAge}`, ...(secure ? ['Secure'] : [])].join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join('; ');
}

/** Why the request may not use the session cookie (it did not come from our own pages), or null. */
export function crossSiteProblem(request: HeaderSource): string | null {
  if (request.headers.get(CSRF_HEADER) !== '1') return `the ${CSRF_HEADER} header is missing`;
  const site = request.headers.get('sec-fetch-site');
  if (site && site !== 'same-origin') return `the request came from a ${site} page`;
  const origin = request.headers.get('origin');
  if (origin) {
    const host = request.headers.get('x-forwarded-host') ?? request.headers.get('host');
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return 'the Origin header is malformed';
    }
    if (originHost !== host) return `the request came from ${origin}`;
  }
  return null;
}

export function csrfRejection(problem: string): Response {
  const message = `the session cookie is only accepted from the dashboard's own pages (${problem})`;
  return Response.json({ errors: [{ message, extensions: { code: 'CSRF_REJECTED' } }] }, { status: 403 });
}
