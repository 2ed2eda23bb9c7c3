import type { Run } from '@distillery/db';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { parseTags } from '../run-labels';
import type { ResolverMap } from './resolver-types';

export const runLabelsResolvers: ResolverMap = {
  Mutation: {
    async setRunTags(_: unknown, args: { runId: string; tags: string[] }, ctx: ApiContext): Promise<Run> {
      await authorize(ctx, { runId: args.runId }, 'write');
      const tags = parseTags(args.tags, 'tags');
      return ctx.prisma.run.update({ where: { id: args.runId }, data: { tags } });
    },
  },
};
