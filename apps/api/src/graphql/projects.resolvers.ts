import type { Project } from '@distillery/db';
import { z } from 'zod';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput, forbidden, parseInput } from '../errors';
import { nameSchema, textSchema } from '../names';
import { isUniqueViolation } from '../prisma-errors';
import type { ResolverMap } from './resolver-types';

const CreateProjectSchema = z.object({
  teamId: z.string(),
  name: nameSchema(100),
  description: textSchema(2000).nullish(),
});

export const projectsResolvers: ResolverMap = {
  Query: {
    async projects(_: unknown, args: { teamId: string }, ctx: ApiContext): Promise<Project[]> {
      await authorize(ctx, { teamId: args.teamId }, 'read');
      return ctx.prisma.project.findMany({ where: { teamId: args.teamId }, orderBy: { createdAt: 'asc' } });
    },
    async project(_: unknown, args: { id: string }, ctx: ApiContext): Promise<Project> {
      await authorize(ctx, { projectId: args.id }, 'read');
      const p = await ctx.prisma.project.findUnique({ where: { id: args.id } });
      if (!p) throw forbidden();
      return p;
    },
  },
  Mutation: {
    async createProject(_: unknown, args: { teamId: string; name: string; description?: string | null }, ctx: ApiContext) {
      const input = parseInput(CreateProjectSchema, args, '');
      await authorize(ctx, { teamId: input.teamId }, 'write');
      try {
        return await ctx.prisma.project.create({
          data: { teamId: input.teamId, name: input.name, description: input.description ?? null },
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw badInput('name', `the team already has a project named "${input.name}"`);
        throw e;
      }
    },
  },
  Project: {
    async team(p: Project, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: p.teamId }, 'read');
      return ctx.prisma.team.findUniqueOrThrow({ where: { id: p.teamId } });
    },
    async models(p: Project, _: unknown, ctx: ApiContext) {
      await authorize(ctx, { teamId: p.teamId }, 'read');
      return ctx.prisma.model.findMany({
        where: { teamId: p.teamId, OR: [{ projectId: p.id }, { projectId: null }] },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      });
    },
  },
};
