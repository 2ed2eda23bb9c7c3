/** The API refused who we are (no token, a revoked one, a wrong password, not a member): exit code 3. */
import { GraphqlCallError } from '@distillery/services';

export class AuthError extends Error {
  override name = 'AuthError';
}

const AUTH_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'TOO_MANY_ATTEMPTS'];

/** Whether an error of a GraphQL call or an HTTP exchange means "not allowed". */
export function isAuthError(error: unknown): boolean {
  if (error instanceof AuthError) return true;
  return error instanceof GraphqlCallError && AUTH_CODES.some((code) => error.hasCode(code));
}

/** Turns a 401/403 answer of a plain HTTP endpoint (upload, file download) into an AuthError. */
export async function refuseUnlessOk(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  const text = await res.text();
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { errors?: { message: string }[] };
    if (body.errors?.length) message = body.errors.map((e) => e.message).join('; ');
  } catch {
    // Not JSON: keep the text.
  }
  if (res.status === 401 || res.status === 403) throw new AuthError(`${what}: ${message} (HTTP ${res.status})`);
  throw new Error(`${what}: ${message} (HTTP ${res.status})`);
}
