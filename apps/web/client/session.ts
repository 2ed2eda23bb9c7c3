/**
 * Sign-in and sign-out through the dashboard's /session route, which keeps the session
 * token in an httpOnly cookie: page scripts never see it.
 */
import { CSRF_HEADERS, GraphqlRequestError, type GraphqlErrorItem } from './graphql';

export async function signIn(email: string, password: string): Promise<void> {
  const res = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json', ...CSRF_HEADERS }, body: JSON.stringify({ email, password }) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { errors?: GraphqlErrorItem[] };
    throw new GraphqlRequestError(body.errors ?? [], res.status);
  }
}

/** Ends the session on the server and drops the cookie. */
export async function signOut(): Promise<void> {
  const res = await fetch('/session', { method: 'DELETE', headers: CSRF_HEADERS });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { errors?: GraphqlErrorItem[] };
    throw new GraphqlRequestError(body.errors ?? [], res.status);
  }
}

/** Whether the browser holds a session cookie at all (not whether the API still accepts it). */
export async function hasSessionCookie(): Promise<boolean> {
  try {
    const res = await fetch('/session', { headers: CSRF_HEADERS, cache: 'no-store' });
    return ((await res.json()) as { signedIn?: boolean }).signedIn === true;
  } catch {
    // Unknown: let the page try; the API's answer decides.
    return true;
  }
}
