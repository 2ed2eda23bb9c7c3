/**
 * Bearer tokens: a random secret shown once; only its sha256 is stored, plus a short
 * prefix so users can tell their tokens apart in a list.
 */
import { createHash, randomBytes } from 'node:crypto';

/** API tokens (notebooks, CLI) start with this; sign-in sessions with SESSION_PREFIX. */
export const API_TOKEN_PREFIX = 'dst_';
export const SESSION_PREFIX = 'dss_';
/** Random characters of the token kept in clear after the fixed prefix. */
const SHOWN = 8;

export interface NewToken {
  secret: string;
  hash: string;
  prefix: string;
}

export function newToken(kind: typeof API_TOKEN_PREFIX | typeof SESSION_PREFIX = API_TOKEN_PREFIX): NewToken {
  const secret = kind + randomBytes(32).toString('base64url');
  return { secret, hash: hashToken(secret), prefix: secret.slice(0, kind.length + SHOWN) };
}

/** Tokens carry 256 bits of entropy, so a plain sha256 (no salt, no stretching) is enough. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The secret from an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}
