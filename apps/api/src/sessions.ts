/**
 * Sign-in sessions: a random secret handed to the client once, stored only as its
 * sha256. A session ends when revoked (sign-out), after `idleSeconds` without use, or
 * `maxAgeSeconds` after sign-in, whichever comes first.
 */
import type { PrismaClient, Session } from '@distillery/db';
import type { SessionPolicy } from './config';
import { hashToken, newToken, SESSION_PREFIX } from './tokens';

/** Where a sign-in came from, shown in the session list so users recognise their devices. */
export interface ClientInfo {
  address?: string;
  userAgent?: string;
}

// Writing lastSeenAt on every request would turn every read into a write; the idle
// timeout is therefore exact to within this granularity.
const LAST_SEEN_GRANULARITY_MS = 60_000;
const MAX_USER_AGENT = 400;

export async function createSession(prisma: PrismaClient, userId: string, policy: SessionPolicy, client: ClientInfo): Promise<{ secret: string; session: Session }> {
  const t = newToken(SESSION_PREFIX);
  const now = new Date();
  const session = await prisma.session.create({
    data: {
      userId,
      tokenHash: t.hash,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + policy.maxAgeSeconds * 1000),
      userAgent: client.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
      address: client.address ?? null,
    },
  });
  return { secret: t.secret, session };
}

/** When the session stops working if unused from now on: idle limit or absolute expiry. */
export function sessionEndsAt(session: Pick<Session, 'lastSeenAt' | 'expiresAt'>, policy: SessionPolicy): Date {
  const idleEnd = session.lastSeenAt.getTime() + policy.idleSeconds * 1000;
  return new Date(Math.min(idleEnd, session.expiresAt.getTime()));
}

export function sessionIsActive(session: Pick<Session, 'lastSeenAt' | 'expiresAt' | 'revokedAt'>, policy: SessionPolicy, now = new Date()): boolean {
  return !session.revokedAt && sessionEndsAt(session, policy).getTime() > now.getTime();
}

/** The active session behind a secret (touching lastSeenAt), or null. */
export async function findActiveSession(prisma: PrismaClient, secret: string, policy: SessionPolicy): Promise<Session | null> {
  const session = await prisma.session.findUnique({ where: { tokenHash: hashToken(secret) } });
  if (!session || !sessionIsActive(session, policy)) return null;
  if (Date.now() - session.lastSeenAt.getTime() > LAST_SEEN_GRANULARITY_MS) {
    return prisma.session.update({ where: { id: session.id }, data: { lastSeenAt: new Date() } });
  }
  return session;
}

/** Active sessions of a user, most recently used first. */
export async function activeSessions(prisma: PrismaClient, userId: string, policy: SessionPolicy): Promise<Session[]> {
  const now = new Date();
  const rows = await prisma.session.findMany({
    where: { userId, revokedAt: null, expiresAt: { gt: now }, lastSeenAt: { gt: new Date(now.getTime() - policy.idleSeconds * 1000) } },
    orderBy: [{ lastSeenAt: 'desc' }, { id: 'desc' }],
  });
  return rows;
}

// Ended sessions stay listed in the database this long (for audits), then go.
const KEEP_ENDED_MS = 30 * 24 * 3600 * 1000;

/** Delete a user's sessions that ended more than 30 days ago. */
export async function pruneEndedSessions(prisma: PrismaClient, userId: string, policy: SessionPolicy): Promise<number> {
  const cutoff = Date.now() - KEEP_ENDED_MS;
  const res = await prisma.session.deleteMany({
    where: {
      userId,
      OR: [
        { revokedAt: { lt: new Date(cutoff) } },
        { expiresAt: { lt: new Date(cutoff) } },
        { lastSeenAt: { lt: new Date(cutoff - policy.idleSeconds * 1000) } },
      ],
    },
  });
  return res.count;
}

export async function revokeSession(prisma: PrismaClient, id: string): Promise<Session> {
  // updateMany keeps the first revocation time when two sign-outs race.
  await prisma.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  return prisma.session.findUniqueOrThrow({ where: { id } });
}
