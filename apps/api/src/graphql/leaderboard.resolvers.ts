import type { Team } from '@distillery/db';
import { describeMetric } from '@distillery/eval/metric-catalogue';
import { TECHNIQUE_FAMILIES } from '@distillery/techniques';
import { authorize } from '../authorization';
import type { ApiContext } from '../context';
import { badInput } from '../errors';
import { leaderboardRows, type LeaderboardRow } from '../leaderboard-query';
import type { ResolverMap } from './resolver-types';

const MAX_ENTRIES = 100;

interface LeaderboardArgs {
  metric: string;
  scope: 'TEAM' | 'PUBLIC';
  teamId?: string | null;
  suite?: string | null;
  suiteVersion: number;
  filter?: { maxSizeBytes?: number | null; maxDecodeMsP50?: number | null; techniqueFamily?: string | null } | null;
  first?: number | null;
}

function budget(value: number | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value) || value < 0) throw badInput(field, 'must be a non-negative number');
  return value;
}

export const leaderboardResolvers: ResolverMap = {
  Query: {
    async leaderboard(_: unknown, args: LeaderboardArgs, ctx: ApiContext) {
      await ctx.viewer();
      let teamId: string | null = null;
      if (args.scope === 'TEAM') {
        if (!args.teamId) throw badInput('teamId', 'a TEAM leaderboard needs the team');
        teamId = (await authorize(ctx, { teamId: args.teamId }, 'read')).teamId;
      }
      const d = describeMetric(args.metric);
      if (!d) throw badInput('metric', `"${args.metric}" is not a catalogue metric (see metricCatalogue); leaderboards rank catalogue figures only`);
      if (d.lowerIsBetter === null) throw badInput('metric', `"${args.metric}" (${d.label}) has no better direction to rank by`);
      const first = args.first ?? 20;
      if (!Number.isInteger(first) || first < 1 || first > MAX_ENTRIES) throw badInput('first', `must be between 1 and ${MAX_ENTRIES}`);
      if (!Number.isInteger(args.suiteVersion) || args.suiteVersion < 1) throw badInput('suiteVersion', 'must be a positive integer');
      const family = args.filter?.techniqueFamily ?? null;
      if (family !== null && !(TECHNIQUE_FAMILIES as readonly string[]).includes(family)) {
        throw badInput('filter.techniqueFamily', `unknown family "${family}" (known: ${TECHNIQUE_FAMILIES.join(', ')})`);
      }
      const suite = args.suite ?? 'distillery-standard';
      const rows = await leaderboardRows(ctx.prisma, {
        metric: args.metric,
        lowerIsBetter: d.lowerIsBetter,
        suite,
        suiteVersion: args.suiteVersion,
        teamId,
        maxSizeBytes: budget(args.filter?.maxSizeBytes, 'filter.maxSizeBytes'),
        maxDecodeMsP50: budget(args.filter?.maxDecodeMsP50, 'filter.maxDecodeMsP50'),
        techniqueFamily: family,
        first,
      });
      return {
        suite,
        suiteVersion: args.suiteVersion,
        metric: { name: args.metric, label: d.label, unit: d.unit, lowerIsBetter: d.lowerIsBetter },
        scope: args.scope,
        entries: rows.map((r, i) => ({ ...r, rank: i + 1 })),
      };
    },
  },
  LeaderboardEntry: {
    async run(e: LeaderboardRow, _: unknown, ctx: ApiContext) {
      // Public boards list other teams' runs; their details stay with their team.
      try {
        await authorize(ctx, { teamId: e.teamId }, 'read');
      } catch {
        return null;
      }
      return ctx.loaders.run.load(e.runId);
    },
  },
  Team: {
    leaderboardPublic: (t: Team) => t.leaderboardPublic,
  },
  Mutation: {
    async setLeaderboardPublic(_: unknown, args: { teamId: string; public: boolean }, ctx: ApiContext) {
      await authorize(ctx, { teamId: args.teamId }, 'manage');
      return ctx.prisma.team.update({ where: { id: args.teamId }, data: { leaderboardPublic: args.public } });
    },
  },
};
