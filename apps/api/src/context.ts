/**
 * Per-request state handed to every resolver. The viewer is looked up lazily, so a
 * request that needs no authentication never touches the token table, and a database
 * failure surfaces as that resolver's error rather than as a failed request.
 */
import type { Logger } from 'pino';
import type { MembershipRole, PrismaClient, RunEventHub } from '@distillery/db';
import type { ArtifactStore } from '@distillery/artifacts';
import type { AuditCall } from './audit-log';
import { DEFAULT_SESSION_POLICY, type ApiConfig, type SessionPolicy } from './config';
import { unauthenticated } from './errors';
import { createLoaders, type Loaders } from './loaders';
import { findActiveSession, type ClientInfo } from './sessions';
import { bearerToken, hashToken, SESSION_PREFIX } from './tokens';

/** Who is calling, and with which credential: a sign-in session or a named API token. */
export interface Viewer {
  userId: string;
  credential: { kind: 'session' | 'apiToken'; id: string };
  /** An API token acts only in this team, whatever other teams its user belongs to. */
  tokenTeamId?: string;
}

export interface ApiServices {
  prisma: PrismaClient;
  store: ArtifactStore;
  config: ApiConfig;
  log: Logger;
  /** Run events from every process (LISTEN run_events), for subscriptions. */
  runEvents: RunEventHub;
}

export interface ApiContext extends ApiServices {
  /** The signed-in user; throws UNAUTHENTICATED when there is none. */
  viewer(): Promise<Viewer>;
  /** The caller's address (X-Forwarded-For from a trusted proxy) and user agent. */
  client: ClientInfo;
  /** The same caller with nothing memoized, to re-check access during a long subscription. */
  refreshed(): ApiContext;
  /** Memoized lookups for authorization within this request. */
  memo: {
    roles: Map<string, Promise<MembershipRole | null>>;
    projectTeams: Map<string, Promise<string | null>>;
    /** Teams the caller was checked against as a member (allowed or not), recorded on its audit events. */
    authorizedTeams: Set<string>;
    /** The mutation call being audited, while its resolver runs. */
    auditCall?: AuditCall;
  };
  /** Batched lookups for nested fields (one query per kind and tick). */
  loaders: Loaders;
}

// Writing lastUsedAt on every request would turn every read into a write.
const LAST_USED_GRANULARITY_MS = 60_000;

/** The user behind a bearer secret, or null when it is unknown, revoked or expired (pass the configured `sessions`). */
export async function findViewer(prisma: PrismaClient, secret: string, sessions: SessionPolicy = DEFAULT_SESSION_POLICY): Promise<Viewer | null> {
  if (secret.startsWith(SESSION_PREFIX)) {
    const session = await findActiveSession(prisma, secret, sessions);
    return session ? { userId: session.userId, credential: { kind: 'session', id: session.id } } : null;
  }
  const token = await prisma.apiToken.findUnique({ where: { tokenHash: hashToken(secret) } });
  // Tokens without a team predate team scoping and would reach every team: refused.
  if (!token || token.revokedAt || !token.teamId) return null;
  if (token.expiresAt && token.expiresAt.getTime() <= Date.now()) return null;
  if (!token.lastUsedAt || Date.now() - token.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await prisma.apiToken.update({ where: { id: token.id }, data: { lastUsedAt: new Date() } });
  }
  return { userId: token.userId, credential: { kind: 'apiToken', id: token.id }, tokenTeamId: token.teamId };
}

export function createContext(services: ApiServices, authorization: string | undefined, client: ClientInfo = {}): ApiContext {
  let viewer: Promise<Viewer> | undefined;
  return {
    ...services,
    client,
    viewer() {
      viewer ??= (async () => {
        const secret = bearerToken(authorization);
        if (!secret) throw unauthenticated();
        const found = await findViewer(services.prisma, secret, services.config.sessions);
        if (!found) throw unauthenticated('the bearer token is invalid, expired or revoked; sign in again');
        return found;
      })();
      return viewer;
    },
    refreshed: () => createContext(services, authorization, client),
    memo: { roles: new Map(), projectTeams: new Map(), authorizedTeams: new Set() },
    loaders: createLoaders(services.prisma),
  };
}
