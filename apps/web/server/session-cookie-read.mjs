/**
 * Reading the session cookie, in plain JavaScript because both the route handlers (built
 * by Next) and server.mjs's WebSocket proxy (run by Node as is) need it.
 */
export const SESSION_COOKIE = 'distillery_session';

/** @param {{ get(name: string): string | null }} headers */
export function readSessionCookieHeader(headers) {
  const header = headers.get('cookie');
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim()) || null;
  }
  return null;
}

/**
 * Why a WebSocket upgrade may not use the session cookie, or null. Browsers send no
 * custom headers on an upgrade but always send Origin, so the page must be our own.
 * @param {{ get(name: string): string | null }} headers
 */
export function crossSiteSocketProblem(headers) {
  const origin = headers.get('origin');
  if (!origin) return 'the Origin header is missing';
  const host = headers.get('x-forwarded-host') ?? headers.get('host');
  let originHost;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'the Origin header is malformed';
  }
  return originHost === host ? null : `the connection came from ${origin}`;
}
