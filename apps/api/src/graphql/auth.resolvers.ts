import type { ApiToken, User } from '@distillery/db';
import { z } from 'zod';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput, unauthenticated } from '../errors';
import { decoyHash, hashPassword, verifyPassword } from '../passwords';
import { isUniqueViolation } from '../prisma-errors';
import { newToken } from '../tokens';
import type { ResolverMap } from './resolver-types';

const EmailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email('not a valid email address'));
const PasswordSchema = z.string().min(10, 'use at least 10 characters').max(200, 'use at most 200 characters');
const NameSchema = z.string().trim().min(1).max(100);

const SignUpSchema = z.object({ email: EmailSchema, password: PasswordSchema, name: NameSchema.nullish() });
const SignInSchema = z.object({ email: EmailSchema, password: z.string().max(200) });

async function issueToken(ctx: ApiContext, userId: string, name: string) {
  const t = newToken();
  const apiToken = await ctx.prisma.apiToken.create({ data: { userId, name, tokenHash: t.hash, prefix: t.prefix } });
  return { token: t.secret, apiToken };
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
      return ctx.prisma.apiToken.findMany({ where: { userId: v.userId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  },
  Mutation: {
    async signUp(_: unknown, args: { email: string; password: string; name?: string | null }, ctx: ApiContext) {
      const input = parseInput(SignUpSchema, args, '');
      const passwordHash = await hashPassword(input.password);
      let user: User;
      try {
        user = await ctx.prisma.user.create({ data: { email: input.email, passwordHash, name: input.name ?? null } });
      } catch (e) {
        if (isUniqueViolation(e)) throw badInput('email', 'an account with this email already exists');
        throw e;
      }
      ctx.log.info({ userId: user.id }, 'user signed up');
      return { ...(await issueToken(ctx, user.id, 'session')), user };
    },
    async signIn(_: unknown, args: { email: string; password: string }, ctx: ApiContext) {
      const input = parseInput(SignInSchema, args, '');
      const user = await ctx.prisma.user.findUnique({ where: { email: input.email } });
      // Hash even for unknown emails so the response time does not reveal which exist.
      const ok = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash()));
      if (!user || !ok) throw unauthenticated('wrong email or password');
      return { ...(await issueToken(ctx, user.id, 'session')), user };
    },
    async createApiToken(_: unknown, args: { name: string }, ctx: ApiContext) {
      const v = await ctx.viewer();
      const name = parseInput(NameSchema, args.name, 'name');
      return issueToken(ctx, v.userId, name);
    },
    async revokeApiToken(_: unknown, args: { id: string }, ctx: ApiContext): Promise<ApiToken> {
      const v = await ctx.viewer();
      const id = parseInput(z.uuid(), args.id, 'id');
      const token = await ctx.prisma.apiToken.findUnique({ where: { id } });
      if (!token || token.userId !== v.userId) throw forbidden();
      if (token.revokedAt) return token;
      return ctx.prisma.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
    },
  },
  User: {
    async memberships(user: User, _: unknown, ctx: ApiContext) {
      const v = await ctx.viewer();
      if (v.userId !== user.id) return [];
      const rows = await ctx.prisma.membership.findMany({
        where: { userId: user.id },
        include: { team: true },
        orderBy: { createdAt: 'asc' },
      });
      return rows.map((m) => ({ team: m.team, role: m.role }));
    },
  },
};
