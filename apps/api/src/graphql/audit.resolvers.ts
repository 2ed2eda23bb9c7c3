import type { AuditEvent, Prisma } from '@distillery/db';
import { z } from 'zod';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { decodeCursor, encodeCursor } from '../cursor';
import { badInput, parseInput } from '../errors';
import type { ResolverMap } from './resolver-types';

const FilterSchema = z
  .object({
    action: z.string().max(100).nullish(),
    actorUserId: z.uuid('not a valid id').nullish(),
    outcome: z.string().max(100).nullish(),
    targetId: z.uuid('not a valid id').nullish(),
    since: z.date().nullish(),
    until: z.date().nullish(),
  })
  .nullish();

interface AuditArgs {
  teamId: string;
  filter?: z.input<typeof FilterSchema>;
  first?: number | null;
  after?: string | null;
}

export const auditResolvers: ResolverMap = {
  Query: {
    async auditLog(_: unknown, args: AuditArgs, ctx: ApiContext) {
      await authorize(ctx, { teamId: args.teamId }, 'manage');
      const filter = parseInput(FilterSchema, args.filter, 'filter') ?? {};
      const first = args.first ?? 50;
      if (!Number.isInteger(first) || first < 1 || first > 500) throw badInput('first', 'must be between 1 and 500');
      const after = args.after ? decodeCursor(args.after) : null;
      if (args.after && !after) throw badInput('after', 'not a cursor from this list');
      const where: Prisma.AuditEventWhereInput = {
        teamId: args.teamId,
        ...(filter.action ? { action: filter.action } : {}),
        ...(filter.actorUserId ? { actorUserId: filter.actorUserId } : {}),
        ...(filter.outcome ? { outcome: filter.outcome } : {}),
        ...(filter.targetId ? { targetIds: { has: filter.targetId.toLowerCase() } } : {}),
        ...(filter.since || filter.until ? { createdAt: { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) } } : {}),
        ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
      };
      const rows: AuditEvent[] = await ctx.prisma.auditEvent.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: first + 1 });
      const page = rows.slice(0, first);
      const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
      return {
        edges,
        pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: after !== null, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
  },
};
