import type { Invitation, MembershipRole, Team } from '@distillery/db';
import { z } from 'zod';
import { auditedTransaction, auditTeam } from '../audit-log';
import { authorize, forgetRole, requireSession } from '../authorization';
import type { ApiContext } from '../context';
import { conflict, forbidden, parseInput } from '../errors';
import type { ResolverMap } from './resolver-types';

const INVITATION_TTL_MS = 14 * 24 * 3600 * 1000;

const InviteSchema = z.object({
  teamId: z.string(),
  email: z.string().trim().toLowerCase().max(254).pipe(z.email('not a valid email address')),
  role: z.enum(['owner', 'member', 'viewer']),
});
const IdSchema = z.uuid('not a valid id');

type InvitationRow = Invitation & { team: Team; invitedBy: { email: string } | null };
const WITH_TEAM = { team: true, invitedBy: { select: { email: true } } } as const;

function toInvitation(i: InvitationRow) {
  return { ...i, teamName: i.team.name, invitedBy: i.invitedBy?.email ?? null };
}

/** The pending, unexpired invitation `id` addressed to the viewer, or FORBIDDEN (same as nonexistent). */
async function ownInvitation(ctx: ApiContext, rawId: string): Promise<InvitationRow> {
  const v = await ctx.viewer();
  const id = parseInput(IdSchema, rawId, 'id');
  const [user, inv] = await Promise.all([
    ctx.prisma.user.findUniqueOrThrow({ where: { id: v.userId }, select: { email: true } }),
    ctx.prisma.invitation.findUnique({ where: { id }, include: WITH_TEAM }),
  ]);
  if (!inv || inv.email !== user.email) throw forbidden();
  if (inv.status !== 'pending') throw conflict(`this invitation is already ${inv.status}`);
  if (inv.expiresAt.getTime() <= Date.now()) throw conflict('this invitation has expired; ask for a new one');
  return inv;
}

export const invitationsResolvers: ResolverMap = {
  Query: {
    async invitations(_: unknown, __: unknown, ctx: ApiContext) {
      const v = await ctx.viewer();
      const user = await ctx.prisma.user.findUniqueOrThrow({ where: { id: v.userId }, select: { email: true } });
      const rows = await ctx.prisma.invitation.findMany({
        where: { email: user.email, status: 'pending', expiresAt: { gt: new Date() } },
        include: WITH_TEAM,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
      return rows.map(toInvitation);
    },
    async teamInvitations(_: unknown, args: { teamId: string }, ctx: ApiContext) {
      await authorize(ctx, { teamId: args.teamId }, 'manage');
      const rows = await ctx.prisma.invitation.findMany({
        where: { teamId: args.teamId, status: 'pending', expiresAt: { gt: new Date() } },
        include: WITH_TEAM,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
      return rows.map(toInvitation);
    },
  },
  Mutation: {
    async inviteMember(_: unknown, args: { teamId: string; email: string; role: MembershipRole }, ctx: ApiContext) {
      const input = parseInput(InviteSchema, args, '');
      const { viewer } = await authorize(ctx, { teamId: input.teamId }, 'manage');
      // Deliberately no lookup of the address among users: the answer must not tell
      // whether it is registered. Members are listed to owners anyway, so re-inviting
      // one is refused by members' emails, which the owner can already see.
      const member = await ctx.prisma.membership.findFirst({ where: { teamId: input.teamId, user: { email: input.email } }, select: { userId: true } });
      if (member) throw conflict('this address already belongs to a member; change their role with setMemberRole');
      const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
      const inv = await auditedTransaction(ctx, async (tx) => {
        const pending = await tx.invitation.findFirst({ where: { teamId: input.teamId, email: input.email, status: 'pending' } });
        if (pending) {
          return tx.invitation.update({ where: { id: pending.id }, data: { role: input.role, expiresAt, invitedById: viewer.userId }, include: WITH_TEAM });
        }
        return tx.invitation.create({
          data: { teamId: input.teamId, email: input.email, role: input.role, invitedById: viewer.userId, expiresAt },
          include: WITH_TEAM,
        });
      });
      ctx.log.info({ teamId: input.teamId, invitationId: inv.id }, 'member invited');
      return toInvitation(inv);
    },
    async revokeInvitation(_: unknown, args: { id: string }, ctx: ApiContext) {
      const id = parseInput(IdSchema, args.id, 'id');
      const found = await ctx.prisma.invitation.findUnique({ where: { id }, select: { teamId: true, status: true } });
      if (!found) throw forbidden();
      await authorize(ctx, { teamId: found.teamId }, 'manage');
      if (found.status !== 'pending' && found.status !== 'revoked') throw conflict(`this invitation is already ${found.status}`);
      await ctx.prisma.invitation.updateMany({ where: { id, status: 'pending' }, data: { status: 'revoked', answeredAt: new Date() } });
      return toInvitation(await ctx.prisma.invitation.findUniqueOrThrow({ where: { id }, include: WITH_TEAM }));
    },
    async acceptInvitation(_: unknown, args: { id: string }, ctx: ApiContext) {
      await requireSession(ctx, 'joining a team');
      const inv = await ownInvitation(ctx, args.id);
      auditTeam(ctx, inv.teamId);
      const v = await ctx.viewer();
      const membership = await auditedTransaction(ctx, async (tx) => {
        // Conditional, so an invitation revoked a moment ago cannot still be accepted.
        const res = await tx.invitation.updateMany({ where: { id: inv.id, status: 'pending' }, data: { status: 'accepted', answeredAt: new Date() } });
        if (res.count !== 1) throw conflict('this invitation is no longer pending');
        // Someone who joined meanwhile keeps the role they have.
        return tx.membership.upsert({
          where: { userId_teamId: { userId: v.userId, teamId: inv.teamId } },
          create: { userId: v.userId, teamId: inv.teamId, role: inv.role },
          update: {},
          include: { team: true },
        });
      });
      forgetRole(ctx, inv.teamId);
      ctx.log.info({ teamId: inv.teamId, userId: v.userId }, 'invitation accepted');
      return { team: membership.team, role: membership.role };
    },
    async declineInvitation(_: unknown, args: { id: string }, ctx: ApiContext) {
      const inv = await ownInvitation(ctx, args.id);
      auditTeam(ctx, inv.teamId);
      await ctx.prisma.invitation.updateMany({ where: { id: inv.id, status: 'pending' }, data: { status: 'declined', answeredAt: new Date() } });
      return toInvitation(await ctx.prisma.invitation.findUniqueOrThrow({ where: { id: inv.id }, include: WITH_TEAM }));
    },
  },
};
