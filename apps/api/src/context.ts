/**
 * Per-request state handed to every resolver. The viewer is looked up lazily, so a
 * request that needs no authentication never touches the token table, and a database
 * failure surfaces as that resolver's error rather than as a failed request.
 */
import type { Logger } from 'pino';
import type { MembershipRole, PrismaClient } from '@distillery/db';
import type { ArtifactStore } from '@distillery/artifacts';
import type { ApiConfig } from './config';
import { unauthenticated } from './errors';
import { bearerToken, hashToken } from './tokens';

export interface Viewer {
  userId: string;
  tokenId: string;
}

export interface ApiServices {
  prisma: PrismaClient;
  store: ArtifactStore;
  config: ApiConfig;
  log: Logger;
}

export interface ApiContext extends ApiServices {
  /** The signed-in user; throws UNAUTHENTICATED when there is none. */
  viewer(): Promise<Viewer>;
  /** Memoized lookups for authorization within this request. */
  memo: {
    roles: Map<string, Promise<MembershipRole | null>>;
    projectTeams: Map<string, Promise<string | null>>;
  };
}

// Writing lastUsedAt on every request would turn every read into a write.
const LAST_USED_GRANULARITY_MS = 60_000;

/** The user behind a bearer secret, or null when it is unknown or revoked. */
export async function findViewer(prisma: PrismaClient, secret: string): Promise<Viewer | null> {
  const token = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(secret) } });
  if (!token || token.revokedAt) return null;
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date() } });
  }
  return { userId: token.userId, tokenId: token.id };
}

export function createContext(services: ApiServices, authorization: string | undefined): ApiContext {
  let viewer: Promise<Viewer> | undefined;
  return {
    ...services,
    viewer() {
      viewer ??= (async () => {
        const secret = bearerToken(authorization);
        if (!secret) throw unauthenticated();
        const found = await findViewer(services.prisma, secret);
        if (!found) throw unauthenticated('the bearer token is invalid or revoked');
        return found;
      })();
      return viewer;
    },
    memo: { roles: new Map(), projectTeams: new Map() },
  };
}
