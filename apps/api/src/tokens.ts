/**
 * Bearer tokens: a random secret shown once; only its sha256 is stored, plus a short
 * prefix so users can tell their tokens apart in a list.
 */
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'dst_';
/** Characters of the token kept in clear (the fixed prefix plus 8 random ones). */
const SHOWN = TOKEN_PREFIX.length + 8;

export interface NewToken {
  secret: string;
  hash: string;
  prefix: string;
}

export function newToken(): NewToken {
  const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { secret, hash: hashToken(secret), prefix: secret.slice(0, SHOWN) };
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
