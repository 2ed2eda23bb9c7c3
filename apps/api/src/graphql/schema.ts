/** The whole schema: type definitions and resolvers of every domain. */
import { auditedMutations } from '../audit-log';
import { auditResolvers } from './audit.resolvers';
import { auditTypeDefs } from './audit.schema';
import { authResolvers } from './auth.resolvers';
import { authTypeDefs } from './auth.schema';
import { baseTypeDefs } from './base.schema';
import { compareResolvers } from './compare.resolvers';
import { compareTypeDefs } from './compare.schema';
import { leaderboardResolvers } from './leaderboard.resolvers';
import { leaderboardTypeDefs } from './leaderboard.schema';
import { ingestResolvers } from './ingest.resolvers';
import { ingestTypeDefs } from './ingest.schema';
import { recipesResolvers } from './recipes.resolvers';
import { recipesTypeDefs } from './recipes.schema';
import { lineageResolvers } from './lineage.resolvers';
import { lineageTypeDefs } from './lineage.schema';
import { modelFolderResolvers } from './model-folder.resolvers';
import { modelFolderTypeDefs } from './model-folder.schema';
import { invitationsResolvers } from './invitations.resolvers';
import { invitationsTypeDefs } from './invitations.schema';
import { modelsResolvers } from './models.resolvers';
import { modelsTypeDefs } from './models.schema';
import { projectsResolvers } from './projects.resolvers';
import { projectsTypeDefs } from './projects.schema';
import { mergeResolvers, type ResolverFn, type ResolverMap } from './resolver-types';
import { reproductionResolvers } from './reproduction.resolvers';
import { reproductionTypeDefs } from './reproduction.schema';
import { runEventsResolvers } from './run-events.resolvers';
import { runEventsTypeDefs } from './run-events.schema';
import { runLabelsResolvers } from './run-labels.resolvers';
import { runLabelsTypeDefs } from './run-labels.schema';
import { runsResolvers } from './runs.resolvers';
import { runsTypeDefs } from './runs.schema';
import { sensitivityResolvers } from './sensitivity.resolvers';
import { sensitivityTypeDefs } from './sensitivity.schema';
import { DateTimeScalar, JSONScalar } from './scalars';
import { teamsResolvers } from './teams.resolvers';
import { teamsTypeDefs } from './teams.schema';

export const API_VERSION = '0.1.0';

export const typeDefs: string[] = [baseTypeDefs, authTypeDefs, teamsTypeDefs, projectsTypeDefs, modelsTypeDefs, runsTypeDefs, runLabelsTypeDefs, runEventsTypeDefs, reproductionTypeDefs, invitationsTypeDefs, compareTypeDefs, leaderboardTypeDefs, lineageTypeDefs, modelFolderTypeDefs, ingestTypeDefs, recipesTypeDefs, auditTypeDefs, sensitivityTypeDefs];

const merged: ResolverMap = mergeResolvers([
  { DateTime: DateTimeScalar, JSON: JSONScalar, Query: { apiVersion: () => API_VERSION } },
  authResolvers,
  teamsResolvers,
  projectsResolvers,
  modelsResolvers,
  runsResolvers,
  runLabelsResolvers,
  runEventsResolvers,
  reproductionResolvers,
  invitationsResolvers,
  compareResolvers,
  leaderboardResolvers,
  lineageResolvers,
  modelFolderResolvers,
  ingestResolvers,
  recipesResolvers,
  auditResolvers,
  sensitivityResolvers,
]);

// Every mutation leaves an audit event, so a new one cannot be forgotten.
export const resolvers: ResolverMap = { ...merged, Mutation: auditedMutations(merged.Mutation as Record<string, ResolverFn>) };
