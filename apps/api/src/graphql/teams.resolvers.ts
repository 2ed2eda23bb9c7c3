import type { MembershipRole, Team } from '@distillery/db';
import { z } from 'zod';
import { auditedTransaction, auditTeam } from '../audit-log';
import { authorize, forgetRole, requireSession } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, conflict, forbidden, parseInput } from '../errors';
import { nameSchema } from '../names';
import { isUniqueViolation } from '../prisma-errors';
import type { ResolverMap } from './resolver-types';

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const CreateTeamSchema = z.object({
  name: nameSchema(100),
  slug: z.string().min(2).max(48).regex(SLUG, 'use lowercase letters, digits and single dashes').nullish(),
});
const SetRoleSchema = z.object({
  teamId: z.string(),
  userId: z.uuid('not a valid id'),
  role: z.enum(['owner', 'member', 'viewer']),
});

export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s.length >= 2 ? s : `team-${s}`.replace(/-$/, '');
}

export function toMember(m: { userId: string; role: MembershipRole; createdAt: Date; user: { email: string; name: string | null } }) {
  return { userId: m.userId, email: m.user.email, name: m.user.name, role: m.role, since: m.createdAt };
}

async function listMembers(ctx: ApiContext, teamId: string) {
  const rows = await ctx.prisma.membership.findMany({ where: { teamId }, include: { user: true }, orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }] });
  return rows.map(toMember);
}

/** Refuse changes that would leave a team without an owner. */
export async function assertKeepsAnOwner(ctx: ApiContext, teamId: string, userId: string): Promise<void> {
  const owners = await ctx.prisma.membership.count({ where: { teamId, role: 'owner', userId: { not: userId } } });
  if (owners === 0) throw conflict('a team needs at least one owner; make someone else owner first');
}

export const teamsResolvers: ResolverMap = {
  Query: {
    async teams(_: unknown, __: unknown, ctx: ApiContext): Promise<Team[]> {
      const v = await ctx.viewer();
      return ctx.prisma.team.findMany({
        where: { memberships: { some: { userId: v.userId } }, ...(v.tokenTeamId ? { id: v.tokenTeamId } : {}) },
        orderBy: { createdAt: 'asc' },
      });
    },
    async teamMembers(_: unknown, args: { teamId: string }, ctx: ApiContext) {
      await authorize(ctx, { teamId: args.teamId }, 'read');
      return listMembers(ctx, args.teamId);
    },
    async team(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Team> {
      await authorize(ctx, { teamId: args.id }, 'read');
      const team = await ctx.prisma.team.findUnique({ where: { id: args.id } });
      if (!team) throw forbidden();
      return team;
    },
  },
  Mutation: {
    async createTeam(_: unknown, args: { name: string; slug?: string | null }, ctx: ApiContext): Promise<Team> {
      const v = await requireSession(ctx, 'creating a team');
      const input = parseInput(CreateTeamSchema, args, '');
      const slug = input.slug ?? slugify(input.name);
      try {
        const team = await ctx.prisma.team.create({
          data: { name: input.name, slug, memberships: { create: { userId: v.userId, role: 'owner' } } },
        });
        auditTeam(ctx, team.id);
        return team;
      } catch (e) {
        if (isUniqueViolation(e)) throw badInput('slug', `the slug "${slug}" is taken; pass another one`);
        throw e;
      }
    },
    async setMemberRole(_: unknown, args: { teamId: string; userId: string; role: MembershipRole }, ctx: ApiContext) {
      const input = parseInput(SetRoleSchema, args, '');
      await authorize(ctx, { teamId: input.teamId }, 'manage');
      const existing = await ctx.prisma.membership.findUnique({ where: { userId_teamId: { userId: input.userId, teamId: input.teamId } } });
      // People join by accepting an invitation (inviteMember); this only changes roles.
      if (!existing) throw badInput('userId', 'not a member of this team; invite them with inviteMember');
      if (input.role !== 'owner') await assertKeepsAnOwner(ctx, input.teamId, input.userId);
      const m = await ctx.prisma.membership.update({
        where: { userId_teamId: { userId: input.userId, teamId: input.teamId } },
        data: { role: input.role },
        include: { user: true },
      });
      forgetRole(ctx, input.teamId);
      return toMember(m);
    },
    async removeTeamMember(_: unknown, args: { teamId: string; userId: string }, ctx: ApiContext): Promise<boolean> {
      await authorize(ctx, { teamId: args.teamId }, 'manage');
      const userId = parseInput(z.uuid(), args.userId, 'userId');
      await assertKeepsAnOwner(ctx, args.teamId, userId);
      await auditedTransaction(ctx, async (tx) => {
        const res = await tx.membership.deleteMany({ where: { teamId: args.teamId, userId } });
        if (res.count === 0) throw badInput('userId', 'not a member of this team');
        await tx.apiToken.updateMany({ where: { teamId: args.teamId, userId, revokedAt: null }, data: { revokedAt: new Date() } });
      });
      forgetRole(ctx, args.teamId);
      return true;
    },
    async leaveTeam(_: unknown, args: { teamId: string }, ctx: ApiContext): Promise<boolean> {
      const { viewer } = await authorize(ctx, { teamId: args.teamId }, 'read');
      await assertKeepsAnOwner(ctx, args.teamId, viewer.userId);
      // Tokens of a team one has left would otherwise work again after a re-invitation.
      await auditedTransaction(ctx, async (tx) => {
        await tx.membership.deleteMany({ where: { teamId: args.teamId, userId: viewer.userId } });
        await tx.apiToken.updateMany({ where: { teamId: args.teamId, userId: viewer.userId, revokedAt: null }, data: { revokedAt: new Date() } });
      });
      forgetRole(ctx, args.teamId);
      return true;
    },
  },
  Team: {
    async viewerRole(team: Team, _: unknown, ctx: ApiContext): Promise<MembershipRole> {
      return (await authorize(ctx, { teamId: team.id }, 'read')).role;
    },
    async members(team: Team, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: team.id }, 'read');
      return listMembers(ctx, team.id);
    },
    async projects(team: Team, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: team.id }, 'read');
      return ctx.prisma.project.findMany({ where: { teamId: team.id }, orderBy: { createdAt: 'asc' } });
    },
  },
};
