import type { ApiToken, Session, User } from '@distillery/db';
import { z } from 'zod';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput, unauthenticated } from '../errors';
import { nameSchema } from '../names';
import { decoyHash, hashPassword, verifyPassword } from '../passwords';
import { isUniqueViolation } from '../prisma-errors';
import { activeSessions, createSession, pruneEndedSessions, revokeSession, sessionEndsAt } from '../sessions';
import { reserveSignInAttempt, signInSucceeded } from '../sign-in-throttle';
import { newToken } from '../tokens';
import type { ResolverMap } from './resolver-types';

const EmailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email('not a valid email address'));
const PasswordSchema = z.string().min(10, 'use at least 10 characters').max(200, 'use at most 200 characters');
const NameSchema = nameSchema(100);

const SignUpSchema = z.object({ email: EmailSchema, password: PasswordSchema, name: NameSchema.nullish() });
const SignInSchema = z.object({ email: EmailSchema, password: z.string().max(200) });

export const SIGN_UP_MESSAGE =
  'If this address was not registered yet, its account is ready: sign in with the password you chose. If it was, sign in with its existing password.';

const CreateTokenSchema = z.object({
  name: NameSchema,
  teamId: z.string(),
  expiresAt: z
    .date()
    .nullish()
    .refine((d) => !d || d.getTime() > Date.now(), 'must be in the future'),
});

async function issueApiToken(ctx: ApiContext, input: z.output<typeof CreateTokenSchema>) {
  // Any role may hold a token; it acts with that role, so a viewer's token only reads.
  const { viewer } = await authorize(ctx, { teamId: input.teamId }, 'read');
  const t = newToken();
  const apiToken = await ctx.prisma.apiToken.create({
    data: { userId: viewer.userId, teamId: input.teamId, name: input.name, tokenHash: t.hash, prefix: t.prefix, expiresAt: input.expiresAt ?? null },
  });
  return { token: t.secret, apiToken };
}

async function viewerSessionId(ctx: ApiContext): Promise<string | null> {
  const v = await ctx.viewer();
  return v.credential.kind === 'session' ? v.credential.id : null;
}

export const authResolvers: ResolverMap = {
  Query: {
    async viewer(_: unknown, __: unknown, ctx: ApiContext): Promise<User> {
      const v = await ctx.viewer();
      const user = await ctx.prisma.user.findUnique({ where: { id: v.userId } });
      if (!user) throw unauthenticated('the user behind this token no longer exists');
      return user;
    },
    async apiTokens(_: unknown, __: unknown, ctx: ApiContext): Promise<ApiToken[]> {
      const v = await ctx.viewer();
      return ctx.prisma.apiToken.findMany({ where: { userId: v.userId, ...(v.tokenTeamId ? { teamId: v.tokenTeamId } : {}) }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
    async sessions(_: unknown, __: unknown, ctx: ApiContext): Promise<Session[]> {
      const v = await ctx.viewer();
      return activeSessions(ctx.prisma, v.userId, ctx.config.sessions);
    },
  },
  Mutation: {
    async signUp(_: unknown, args: { email: string; password: string; name?: string | null }, ctx: ApiContext) {
      const input = parseInput(SignUpSchema, args, '');
      // Hashed either way, so the answer takes as long for a registered address as for a new one.
      const passwordHash = await hashPassword(input.password);
      try {
        const user = await ctx.prisma.user.create({ data: { email: input.email, passwordHash, name: input.name ?? null } });
        ctx.log.info({ userId: user.id }, 'user signed up');
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // Registered already: change nothing, answer the same.
      }
      return { message: SIGN_UP_MESSAGE };
    },
    async signIn(_: unknown, args: { email: string; password: string }, ctx: ApiContext) {
      const input = parseInput(SignInSchema, args, '');
      const keys = { account: input.email, address: ctx.client.address ?? 'unknown' };
      await reserveSignInAttempt(ctx.prisma, keys, ctx.config.signInLimits);
      const user = await ctx.prisma.user.findUnique({ where: { email: input.email } });
      // Hash even for unknown emails so the response time does not reveal which exist.
      const ok = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash()));
      if (!user || !ok) {
        ctx.log.info({ address: keys.address }, 'sign-in failed');
        throw unauthenticated('wrong email or password');
      }
      await signInSucceeded(ctx.prisma, keys, ctx.config.signInLimits);
      await pruneEndedSessions(ctx.prisma, user.id, ctx.config.sessions);
      const { secret, session } = await createSession(ctx.prisma, user.id, ctx.config.sessions, ctx.client);
      ctx.log.info({ userId: user.id, sessionId: session.id }, 'signed in');
      return { token: secret, session: { ...session, current: true }, user };
    },
    async signOut(_: unknown, __: unknown, ctx: ApiContext): Promise<boolean> {
      const sessionId = await viewerSessionId(ctx);
      if (!sessionId) throw badInput('authorization', 'this request uses an API token, not a session; revoke the token with revokeApiToken');
      await revokeSession(ctx.prisma, sessionId);
      return true;
    },
    async revokeSession(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Session> {
      const v = await ctx.viewer();
      const id = parseInput(z.uuid(), args.id, 'id');
      const session = await ctx.prisma.session.findUnique({ where: { id }, select: { userId: true } });
      if (!session || session.userId !== v.userId) throw forbidden();
      return revokeSession(ctx.prisma, id);
    },
    async createApiToken(_: unknown, args: { name: string; teamId: string; expiresAt?: Date | null }, ctx: ApiContext) {
      await ctx.viewer();
      return issueApiToken(ctx, parseInput(CreateTokenSchema, args, ''));
    },
    async revokeApiToken(_: unknown, args: { id: string }, ctx: ApiContext): Promise<ApiToken> {
      const v = await ctx.viewer();
      const id = parseInput(z.uuid(), args.id, 'id');
      const token = await ctx.prisma.apiToken.findUnique({ where: { id } });
      if (!token || token.userId !== v.userId) throw forbidden();
      if (v.tokenTeamId && token.teamId !== v.tokenTeamId) throw forbidden();
      if (token.revokedAt) return token;
      return ctx.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
    },
  },
  Session: {
    expiresAt: (s: Session, _: unknown, ctx: ApiContext) => sessionEndsAt(s, ctx.config.sessions),
    async current(s: Session & { current?: boolean }, _: unknown, ctx: ApiContext): Promise<boolean> {
      if (s.current !== undefined) return s.current;
      return (await viewerSessionId(ctx)) === s.id;
    },
  },
  User: {
    async memberships(user: User, _: unknown, ctx: ApiContext) {
      const v = await ctx.viewer();
      if (v.userId !== user.id) return [];
      const rows = await ctx.prisma.membership.findMany({
        where: { userId: user.id, ...(v.tokenTeamId ? { teamId: v.tokenTeamId } : {}) },
        include: { team: true },
        orderBy: { createdAt: 'asc' },
      });
      return rows.map((m) => ({ team: m.team, role: m.role }));
    },
  },
};
